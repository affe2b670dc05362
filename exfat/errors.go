package exfat

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns for a bad volume wraps
// one of them, so callers test with errors.Is.
var (
	// ErrFormat means the bytes are not a valid exFAT structure: a field
	// out of its range, a chain that leaves the volume or loops, a
	// directory entry set that breaks the rules.
	ErrFormat = errors.New("exfat: invalid format")
	// ErrChecksum means a boot region, an up-case table or a directory
	// entry set failed its checksum.
	ErrChecksum = errors.New("exfat: checksum mismatch")
	// ErrUnsupported means a valid volume this package does not read: a
	// file system revision other than 1.x, or a critical directory entry
	// of a later revision. It matches errors.ErrUnsupported too.
	ErrUnsupported = fmt.Errorf("exfat: unsupported feature: %w", errors.ErrUnsupported)
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

// isContent reports whether err says the bytes are wrong (as opposed to
// an I/O error of the source): only then is a backup copy worth trying.
func isContent(err error) bool {
	return errors.Is(err, ErrFormat) || errors.Is(err, ErrChecksum)
}
