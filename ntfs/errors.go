package ntfs

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns for a bad volume wraps
// one of them, so callers test with errors.Is.
var (
	// ErrFormat means the bytes are not a valid NTFS structure.
	ErrFormat = errors.New("ntfs: invalid format")
	// ErrFixup means a multi-sector record (MFT or INDX) failed its
	// update-sequence check: the record was torn or overwritten.
	ErrFixup = errors.New("ntfs: update sequence mismatch")
	// ErrUnsupported means a valid feature this package cannot decode, such
	// as EFS encryption or WOF/dedup reparse compression. Such files are
	// listed, but reading their data fails with this error.
	ErrUnsupported error = &unsupportedError{"ntfs: unsupported feature"}
	// ErrLoop means a structure refers back to itself (an index cycle, an
	// attribute list naming a record twice) or nests deeper than allowed.
	ErrLoop = errors.New("ntfs: loop or excessive depth")
	// ErrRange means an offset or length points outside the volume or is
	// too large to be real.
	ErrRange = errors.New("ntfs: out of range")
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

// unsupportedError is ErrUnsupported's type: it matches
// errors.ErrUnsupported too, so callers that know no package of ours can
// still tell "valid but not implemented" from damage.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string { return e.msg }

// Is makes errors.Is(ErrUnsupported, errors.ErrUnsupported) true.
func (e *unsupportedError) Is(target error) bool { return target == errors.ErrUnsupported }
