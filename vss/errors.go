package vss

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns for a bad catalog or
// store wraps one of them, so callers test with errors.Is.
var (
	// ErrNoShadows means the volume carries no shadow copy header at
	// 0x1e00: Volume Shadow Copies were never enabled on it. It is not a
	// fault of the volume.
	ErrNoShadows = errors.New("vss: no shadow copy header")
	// ErrFormat means a catalog or store structure is not valid.
	ErrFormat = errors.New("vss: invalid format")
	// ErrLoop means a chain of catalog or store blocks refers back to
	// itself or is longer than its volume can hold.
	ErrLoop = errors.New("vss: loop or excessive length in a block chain")
	// ErrUnsupported means a valid layout this package cannot read alone,
	// such as a store whose data lives on another volume that was not
	// given (see Volume.AttachStorage). It matches errors.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("vss: unsupported: %w", errors.ErrUnsupported)
)

// FormatError reports a fault at a byte offset of a volume (the volume
// the shadow copies are of, or the one holding their store data). It
// wraps one of the sentinel errors above (ErrFormat unless stated).
type FormatError struct {
	Off  int64  // byte offset in the volume where the fault lies
	What string // what is wrong there
	Err  error  // sentinel; ErrFormat when nil
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%v at byte 0x%x: %s", e.sentinel(), e.Off, e.What)
}

func (e *FormatError) sentinel() error {
	if e.Err == nil {
		return ErrFormat
	}
	return e.Err
}

// Unwrap lets errors.Is find the sentinel.
func (e *FormatError) Unwrap() error { return e.sentinel() }

func formatErr(off int64, format string, args ...any) error {
	return &FormatError{Off: off, What: fmt.Sprintf(format, args...)}
}

func kindErr(kind error, off int64, format string, args ...any) error {
	return &FormatError{Off: off, What: fmt.Sprintf(format, args...), Err: kind}
}
