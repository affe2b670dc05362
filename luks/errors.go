package luks

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error of this package for a bad volume or a key
// that does not fit wraps one of them.
var (
	// ErrNotLUKS means the volume carries no LUKS magic.
	ErrNotLUKS = errors.New("luks: not a LUKS volume")
	// ErrFormat means a LUKS structure is malformed.
	ErrFormat = errors.New("luks: invalid format")
	// ErrChecksum means a LUKS2 header copy failed its checksum.
	ErrChecksum = errors.New("luks: checksum mismatch")
	// ErrUnsupported means a valid feature this package does not handle.
	// It wraps errors.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("luks: %w", errors.ErrUnsupported)
	// ErrWrongKey means no passphrase given opens any key slot.
	ErrWrongKey = errors.New("luks: no passphrase fits")
)

// FormatError reports a fault at a byte offset of the volume. It wraps one
// of the sentinels (ErrFormat unless stated otherwise).
type FormatError struct {
	Off  int64  // byte offset of the fault in the volume (-1 if unknown)
	What string // what is wrong; never key material
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

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrUnsupported)
}
