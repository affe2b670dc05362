package regf

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns for a bad hive wraps
// one of them, so callers test with errors.Is.
var (
	// ErrFormat means the bytes are not a valid registry hive structure.
	ErrFormat = errors.New("regf: invalid format")
	// ErrNotFound means a key or value of that name does not exist.
	ErrNotFound = errors.New("regf: not found")
)

// FormatError reports a fault at a byte offset of the hive file.
type FormatError struct {
	Off  int64  // byte offset in the file where the fault lies (-1 if unknown)
	What string // what is wrong there
}

func (e *FormatError) Error() string {
	if e.Off < 0 {
		return fmt.Sprintf("%v: %s", ErrFormat, e.What)
	}
	return fmt.Sprintf("%v at byte 0x%x: %s", ErrFormat, e.Off, e.What)
}

// Unwrap lets errors.Is find ErrFormat.
func (e *FormatError) Unwrap() error { return ErrFormat }

func formatErr(off int64, format string, args ...any) error {
	return &FormatError{Off: off, What: fmt.Sprintf(format, args...)}
}
