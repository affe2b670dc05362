package jbd2

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error Replay returns wraps one of them.
var (
	// ErrFormat means the journal superblock is not a JBD2 superblock or
	// describes a journal that cannot be (a block size the filesystem does
	// not have, a log larger than the journal).
	ErrFormat = errors.New("jbd2: invalid journal")
	// ErrChecksum means the journal superblock failed its checksum; the
	// kernel refuses to mount such a filesystem, and nothing is replayed.
	ErrChecksum = errors.New("jbd2: journal superblock checksum mismatch")
	// ErrUnsupported means a journal feature this package does not replay.
	// It matches errors.ErrUnsupported too.
	ErrUnsupported = fmt.Errorf("jbd2: unsupported journal feature: %w", errors.ErrUnsupported)
)

// FormatError reports a fault at a byte offset of the journal. It wraps
// one of the sentinels above (ErrFormat unless stated otherwise).
type FormatError struct {
	Off  int64  // byte offset in the journal
	What string // what is wrong there
	Err  error  // sentinel; ErrFormat when nil
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%v at journal byte 0x%x: %s", e.sentinel(), e.Off, e.What)
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
