package catalog

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns for bad input wraps one
// of them (or one of package vhdx's), so callers test with errors.Is.
var (
	// ErrConfig means a VM configuration file (.vmcx, .vmrs, .xml) is not
	// valid or not one this package understands.
	ErrConfig = errors.New("catalog: invalid VM configuration")
	// ErrNotFound means no checkpoint matches the name asked for.
	ErrNotFound = errors.New("catalog: no such checkpoint")
	// ErrAmbiguous means several checkpoints match the name asked for.
	ErrAmbiguous = errors.New("catalog: ambiguous checkpoint name")
	// ErrNoDisks means the source holds no disk file.
	ErrNoDisks = errors.New("catalog: no disk files found")
	// ErrNotDisk means the source is a file that is neither a disk file
	// nor a folder: a damaged or wrong input, as for vhdx.ErrFormat.
	ErrNotDisk = errors.New("not a disk file (.vhdx, .avhdx, .vhd, .avhd) or folder")
)

// FormatError reports a fault at a byte offset of a configuration file. It
// wraps ErrConfig unless Err says otherwise.
type FormatError struct {
	Off  int64  // byte offset in the file where the fault lies
	What string // what is wrong there
	Err  error  // sentinel; ErrConfig when nil
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%v at byte 0x%x: %s", e.sentinel(), e.Off, e.What)
}

func (e *FormatError) sentinel() error {
	if e.Err == nil {
		return ErrConfig
	}
	return e.Err
}

// Unwrap lets errors.Is find the sentinel.
func (e *FormatError) Unwrap() error { return e.sentinel() }

func configErr(off int64, format string, args ...any) error {
	return &FormatError{Off: off, What: fmt.Sprintf(format, args...)}
}
