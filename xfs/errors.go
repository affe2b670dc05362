package xfs

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns for a bad volume wraps
// one of them, so callers test with errors.Is.
var (
	// ErrFormat means the bytes are not a valid XFS structure.
	ErrFormat = errors.New("xfs: invalid format")
	// ErrChecksum means a v5 metadata block failed its CRC32C check.
	ErrChecksum = errors.New("xfs: checksum mismatch")
	// ErrUnsupported means a valid feature this package does not read,
	// such as the realtime section. It matches errors.ErrUnsupported too.
	ErrUnsupported = fmt.Errorf("xfs: unsupported feature: %w", errors.ErrUnsupported)
	// ErrLoop means a structure refers back to itself or nests deeper than
	// the format allows.
	ErrLoop = errors.New("xfs: loop or excessive depth")
	// ErrRange means an offset or length points outside the volume, or a
	// count is too large to be real, or a call ran out of its budget.
	ErrRange = errors.New("xfs: out of range")
)

// FormatError reports a fault at a byte offset of the volume. It wraps one
// of the sentinel errors above (ErrFormat unless stated otherwise).
type FormatError struct {
	Off  int64  // byte offset in the volume where the fault lies (-1 if unknown)
	What string // what is wrong there
	Err  error  // sentinel; ErrFormat when nil
}

func (e *FormatError) Error() string {
	if e.Off < 0 {
		return fmt.Sprintf("%v: %s", e.sentinel(), e.What)
	}
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
