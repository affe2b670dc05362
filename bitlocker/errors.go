package bitlocker

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns for a bad volume or a
// key that does not fit wraps one of them, so callers test with errors.Is.
var (
	// ErrNotBitLocker means the volume carries no BitLocker signature.
	ErrNotBitLocker = errors.New("bitlocker: not a BitLocker volume")
	// ErrFormat means a BitLocker structure is malformed.
	ErrFormat = errors.New("bitlocker: invalid format")
	// ErrChecksum means a metadata copy failed its CRC-32, or the metadata
	// failed its authentication under the volume master key.
	ErrChecksum = errors.New("bitlocker: checksum mismatch")
	// ErrUnsupported means a valid feature this package does not handle
	// (an unknown cipher, a TPM-only protector). It wraps
	// errors.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("bitlocker: %w", errors.ErrUnsupported)
	// ErrBadKey means a key is malformed: a recovery password that breaks
	// its rules, or a startup key file that is not one.
	ErrBadKey = errors.New("bitlocker: malformed key")
	// ErrWrongKey means no key given fits any protector of the volume.
	ErrWrongKey = errors.New("bitlocker: no key fits")
)

// FormatError reports a fault at a byte offset of the volume. It wraps one
// of the sentinel errors above (ErrFormat unless stated otherwise).
type FormatError struct {
	Off  int64  // byte offset in the volume where the fault lies (-1 if unknown)
	What string // what is wrong there; never key material
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
