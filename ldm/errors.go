package ldm

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error of this package for a disk it cannot read
// wraps one of them.
var (
	// ErrNotLDM means the disk carries no LDM database: no partition of
	// type 0x42 in its MBR, no "LDM metadata" partition in its GPT, or no
	// PRIVHEAD where one of them says it lies.
	ErrNotLDM = errors.New("ldm: not a dynamic disk")
	// ErrFormat means an LDM structure is malformed or inconsistent.
	ErrFormat = errors.New("ldm: invalid format")
	// ErrUnsupported means a valid feature this package does not read
	// (a record version it does not know, a database with a transaction
	// under way). It wraps errors.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("ldm: %w", errors.ErrUnsupported)
	// ErrMissingDisk means a volume has extents on a disk of its group
	// that was not given (see Group.Open).
	ErrMissingDisk = errors.New("ldm: a disk of the group is missing")
)

// FormatError reports a fault at a byte offset of the disk. It wraps
// ErrFormat, or the sentinel in Err.
type FormatError struct {
	Off  int64  // byte offset of the fault on the disk (-1 if unknown)
	What string // what is wrong
	Err  error  // the sentinel; ErrFormat when nil
}

func (e *FormatError) Error() string {
	if e.Off < 0 {
		return fmt.Sprintf("%v: %s", e.Unwrap(), e.What)
	}
	return fmt.Sprintf("%v at byte 0x%x: %s", e.Unwrap(), e.Off, e.What)
}

// Unwrap lets errors.Is find the sentinel.
func (e *FormatError) Unwrap() error {
	if e.Err == nil {
		return ErrFormat
	}
	return e.Err
}

func formatErr(off int64, format string, args ...any) error {
	return &FormatError{Off: off, What: fmt.Sprintf(format, args...)}
}

func unsupported(off int64, format string, args ...any) error {
	return &FormatError{Off: off, What: fmt.Sprintf(format, args...), Err: ErrUnsupported}
}
