package vhdx

import (
	"errors"
	"fmt"
)

// Sentinel errors for faults in the images themselves. Every error this package
// returns for bad input wraps one of them, so callers test with errors.Is.
var (
	// ErrFormat means the bytes are not a valid VHDX or VHD structure.
	ErrFormat = errors.New("vhdx: invalid format")
	// ErrChecksum means a structure is well formed but its checksum does not match.
	ErrChecksum = errors.New("vhdx: checksum mismatch")
	// ErrUnsupported means a valid feature this package does not implement.
	ErrUnsupported error = &unsupportedError{"vhdx: unsupported feature"}
	// ErrParent means a differencing disk's parent is missing, unreadable,
	// mismatched, or the chain loops or is too deep.
	ErrParent = errors.New("vhdx: parent")
	// ErrLog means the VHDX log is present but cannot be replayed.
	ErrLog = errors.New("vhdx: log")
	// ErrReadOnly means a write was asked of an image opened for reading.
	ErrReadOnly = errors.New("vhdx: opened read-only")
)

// FormatError reports a fault at a byte offset of one file. It wraps one of the
// sentinel errors above (ErrFormat unless stated otherwise).
type FormatError struct {
	Off  int64  // byte offset in the file where the fault lies
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

func checksumErr(off int64, what string) error {
	return &FormatError{Off: off, What: what, Err: ErrChecksum}
}

func unsupportedErr(off int64, format string, args ...any) error {
	return &FormatError{Off: off, What: fmt.Sprintf(format, args...), Err: ErrUnsupported}
}

var errShortRead = errors.New("short read")

// ioError is a failure of the underlying reader, kept apart from format
// faults so a caller can tell a bad image from a bad disk or network.
type ioError struct {
	off  int64
	what string
	err  error
}

func (e *ioError) Error() string {
	return fmt.Sprintf("reading %s at byte 0x%x: %v", e.what, e.off, e.err)
}

func (e *ioError) Unwrap() error { return e.err }

// unsupportedError is ErrUnsupported's type: it matches
// errors.ErrUnsupported too, so callers that know no package of ours can
// still tell "valid but not implemented" from damage.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string { return e.msg }

// Is makes errors.Is(ErrUnsupported, errors.ErrUnsupported) true.
func (e *unsupportedError) Is(target error) bool { return target == errors.ErrUnsupported }
