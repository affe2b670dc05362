package guest

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrFormat marks a partition table or filesystem whose bytes are
	// inconsistent (bad checksum, impossible sizes, broken chains).
	ErrFormat = errors.New("guest: malformed on-disk structure")
	// ErrUnsupported marks a structure that is valid but that this package
	// cannot read (for example a FAT32 volume with one FAT).
	ErrUnsupported error = &unsupportedError{"guest: unsupported"}
	// ErrOutOfRange marks a partition that lies (partly) outside the disk.
	ErrOutOfRange = errors.New("guest: partition outside the disk")
	// ErrMissingPV marks an LVM logical volume with extents on a
	// physical volume that is on none of the disks given, or a volume of
	// Windows dynamic disks with extents on a disk not given (see
	// JoinVolumeGroups).
	ErrMissingPV = errors.New("guest: a physical volume (or dynamic disk) of the volume group is missing")
)

// FormatError reports a malformed structure at a byte offset of the disk
// (or of the partition, for filesystem errors). It wraps ErrFormat.
type FormatError struct {
	Off  int64  // byte offset of the offending structure
	What string // what is wrong
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("guest: %s at byte 0x%x", e.What, e.Off)
}

// Unwrap makes errors.Is(err, ErrFormat) true.
func (e *FormatError) Unwrap() error { return ErrFormat }

func formatErr(off int64, format string, args ...any) error {
	return &FormatError{Off: off, What: fmt.Sprintf(format, args...)}
}

// unsupportedError is ErrUnsupported's type: it matches
// errors.ErrUnsupported too, so callers that know no package of ours can
// still tell "valid but not implemented" from damage.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string { return e.msg }

// Is makes errors.Is(ErrUnsupported, errors.ErrUnsupported) true.
func (e *unsupportedError) Is(target error) bool { return target == errors.ErrUnsupported }
