package btrfs

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns for a bad volume wraps
// one of them, so callers test with errors.Is.
var (
	// ErrFormat means the bytes are not a valid btrfs structure.
	ErrFormat = errors.New("btrfs: invalid format")
	// ErrChecksum means a superblock, tree node or data sector does not
	// match its stored checksum. Data is never returned for such a range.
	ErrChecksum = errors.New("btrfs: checksum mismatch")
	// ErrUnsupported means a valid feature this package cannot read, such
	// as an unknown compression or checksum type. It matches
	// errors.ErrUnsupported too.
	ErrUnsupported = fmt.Errorf("btrfs: unsupported feature: %w", errors.ErrUnsupported)
	// ErrDevices means the bytes asked for lie on a device of a
	// multi-device filesystem that was not given (and no mirror or parity
	// rebuild reaches them); the message names the devid.
	ErrDevices = errors.New("btrfs: needs the other devices")
	// ErrLoop means a tree refers back to itself or nests deeper than
	// allowed.
	ErrLoop = errors.New("btrfs: loop or excessive depth")
	// ErrRange means an offset or length points outside the volume or is
	// too large to be real.
	ErrRange = errors.New("btrfs: out of range")
)

// FormatError reports a fault at a byte offset of the device. It wraps one
// of the sentinel errors above (ErrFormat unless stated otherwise).
type FormatError struct {
	Off  int64  // byte offset on the device where the fault lies (-1 if unknown)
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
