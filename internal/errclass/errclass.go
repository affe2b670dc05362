// Package errclass is the one place that says what kind of fault an error
// is, and from that both the exit code the CLI returns and the errno the
// mount answers with. Every exported sentinel error of every package of
// ckptfs has a class: the readers' sentinels are listed in the table
// below; packages above the mount (mount, cmd) make theirs with New, which
// carries the class. errclass_test.go reads the sources and fails when a
// sentinel has none.
package errclass

import (
	"context"
	"errors"
	iofs "io/fs"
	"syscall"

	"github.com/ckptfs/ckptfs/bitlocker"
	"github.com/ckptfs/ckptfs/luks"
	"github.com/ckptfs/ckptfs/vss"

	"github.com/ckptfs/ckptfs/btrfs"
	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/diff"
	"github.com/ckptfs/ckptfs/exfat"
	"github.com/ckptfs/ckptfs/export"
	"github.com/ckptfs/ckptfs/ext"
	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/jbd2"
	"github.com/ckptfs/ckptfs/internal/lzx"
	"github.com/ckptfs/ckptfs/internal/srcfile"
	"github.com/ckptfs/ckptfs/internal/xpress"
	"github.com/ckptfs/ckptfs/ldm"
	"github.com/ckptfs/ckptfs/merge"
	"github.com/ckptfs/ckptfs/nbd"
	"github.com/ckptfs/ckptfs/ntfs"
	"github.com/ckptfs/ckptfs/regf"
	"github.com/ckptfs/ckptfs/remote"
	"github.com/ckptfs/ckptfs/vhdx"
	"github.com/ckptfs/ckptfs/xfs"
)

// Class is a kind of fault. Its value is the exit code scripts see
// (listed in the README).
type Class int

const (
	Unknown     Class = 0   // not one of ours: an I/O error, a bug (exit 1, EIO)
	Failure     Class = 1   // a failure that is none of the below (exit 1, EIO)
	Usage       Class = 2   // bad command line or argument (exit 2, EINVAL)
	BadImage    Class = 4   // a disk, log, configuration or filesystem is damaged or of the wrong format (EIO)
	Chain       Class = 5   // a differencing chain cannot be resolved (EIO)
	NotFound    Class = 6   // checkpoint, volume or guest path not found (ENOENT)
	Unsupported Class = 7   // a valid feature ckptfs does not implement (EOPNOTSUPP)
	Refused     Class = 8   // refused: would damage data, file locked, target exists (EPERM)
	Interrupted Class = 130 // stopped by a signal or a cancelled context (EINTR)
)

func (c Class) String() string {
	switch c {
	case Failure:
		return "failure"
	case Usage:
		return "usage"
	case BadImage:
		return "bad image"
	case Chain:
		return "chain"
	case NotFound:
		return "not found"
	case Unsupported:
		return "unsupported"
	case Refused:
		return "refused"
	case Interrupted:
		return "interrupted"
	}
	return "unknown"
}

// table lists the sentinels of the packages this one can import, in the
// order Of tests them: the first match wins, so a sentinel wrapped inside
// another's message (a chain error caused by a bad parent file) is
// classified by the outer one's entry only if it comes first here.
var table = []struct {
	err   error
	class Class
}{
	// What a user refused or asked wrongly comes before what it caused.
	{export.ErrExists, Refused},
	{export.ErrOptions, Usage},
	{merge.ErrRefused, Refused},
	{merge.ErrLocked, Refused},
	{catalog.ErrMerging, Refused},
	{catalog.ErrLocked, Refused},
	{catalog.ErrAmbiguous, Usage},
	{diff.ErrInput, Usage},

	{vhdx.ErrParent, Chain},

	{vhdx.ErrUnsupported, Unsupported},
	{ntfs.ErrUnsupported, Unsupported},
	{guest.ErrUnsupported, Unsupported},
	{ntfs.ErrDeduplicated, Unsupported},
	{guest.ErrLocked, Unsupported},
	{guest.ErrMissingPV, Unsupported}, // a logical volume on a disk not given, like btrfs.ErrDevices
	{remote.ErrBadURL, Usage},
	{remote.ErrNoRanges, Unsupported},
	{remote.ErrChanged, Failure},     // the source changed under us: an I/O fault
	{remote.ErrUnavailable, Failure}, // the store did not answer: an I/O fault
	{bitlocker.ErrUnsupported, Unsupported},
	{vss.ErrUnsupported, Unsupported},
	{bitlocker.ErrBadKey, Usage},
	{bitlocker.ErrWrongKey, Usage},
	{vss.ErrNotStorage, Usage},
	{bitlocker.ErrNotBitLocker, BadImage},
	{bitlocker.ErrFormat, BadImage},
	{bitlocker.ErrChecksum, BadImage},
	{luks.ErrUnsupported, Unsupported},
	{luks.ErrWrongKey, Usage},
	{luks.ErrNotLUKS, BadImage},
	{luks.ErrFormat, BadImage},
	{luks.ErrChecksum, BadImage},
	{regf.ErrFormat, BadImage},
	{regf.ErrNotFound, NotFound},
	{vss.ErrFormat, BadImage},
	{vss.ErrLoop, BadImage},
	{vss.ErrNoShadows, NotFound},
	{xfs.ErrUnsupported, Unsupported},
	{exfat.ErrUnsupported, Unsupported},
	{ext.ErrUnsupported, Unsupported},
	{btrfs.ErrUnsupported, Unsupported},
	{jbd2.ErrUnsupported, Unsupported},
	{btrfs.ErrDevices, Unsupported}, // bytes only a device not given holds, like guest.ErrMissingPV
	{ldm.ErrUnsupported, Unsupported},
	{ldm.ErrMissingDisk, Unsupported}, // a dynamic volume on a disk not given, like guest.ErrMissingPV

	{vhdx.ErrFormat, BadImage},
	{vhdx.ErrChecksum, BadImage},
	{vhdx.ErrLog, BadImage},
	{ntfs.ErrFormat, BadImage},
	{ntfs.ErrFixup, BadImage},
	{ntfs.ErrLoop, BadImage},
	{ntfs.ErrRange, BadImage},
	{xpress.ErrFormat, BadImage},
	{xfs.ErrFormat, BadImage},
	{ext.ErrFormat, BadImage},
	{xfs.ErrChecksum, BadImage},
	{exfat.ErrFormat, BadImage},
	{exfat.ErrChecksum, BadImage},
	{xfs.ErrLoop, BadImage},
	{xfs.ErrRange, BadImage},
	{lzx.ErrFormat, BadImage},
	{jbd2.ErrFormat, BadImage},
	{jbd2.ErrChecksum, BadImage},
	{guest.ErrFormat, BadImage},
	{ldm.ErrFormat, BadImage},
	{ldm.ErrNotLDM, BadImage},
	{guest.ErrOutOfRange, BadImage},
	{btrfs.ErrFormat, BadImage},
	{btrfs.ErrChecksum, BadImage},
	{btrfs.ErrLoop, BadImage},
	{btrfs.ErrRange, BadImage},
	{catalog.ErrConfig, BadImage},
	{catalog.ErrNotDisk, BadImage},
	{catalog.ErrNotFile, BadImage},
	{srcfile.ErrNotFile, BadImage},
	{catalog.ErrJournal, BadImage},
	{export.ErrVerify, BadImage},

	{catalog.ErrNotFound, NotFound},
	{catalog.ErrNoDisks, NotFound},

	// Misuse of the write API by our own code: a bug, not the user's.
	{vhdx.ErrReadOnly, Failure},
	{vhdx.ErrHeld, Failure},
	{nbd.ErrConfig, Failure},
}

// classed is a sentinel made with New.
type classed struct {
	msg   string
	class Class
}

func (e *classed) Error() string { return e.msg }

// Is lets a sentinel of class Unsupported match errors.ErrUnsupported.
func (e *classed) Is(target error) bool {
	return e.class == Unsupported && target == errors.ErrUnsupported
}

// New makes a sentinel error of class c, for packages this one cannot
// list because they import it (mount, cmd).
func New(c Class, msg string) error { return &classed{msg: msg, class: c} }

// Of classifies err. The error's own class (New) wins, then the table,
// then the standard library's sentinels.
func Of(err error) Class {
	if err == nil {
		return Unknown
	}
	var ce *classed
	if errors.As(err, &ce) {
		return ce.class
	}
	for _, e := range table {
		if errors.Is(err, e.err) {
			return e.class
		}
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Interrupted
	case errors.Is(err, errors.ErrUnsupported):
		return Unsupported
	case errors.Is(err, iofs.ErrExist):
		return Refused
	case errors.Is(err, iofs.ErrNotExist):
		return NotFound
	case errors.Is(err, iofs.ErrInvalid):
		return Usage
	}
	return Unknown
}

// ExitCode is the exit code for err: 0 for nil, 1 for what has no class.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	if c := Of(err); c != Unknown {
		return int(c)
	}
	return int(Failure)
}

// Errno is what the kernel hears for err. An errno inside err is kept;
// permission and invalid-argument errors keep their own errno.
func Errno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	if errors.Is(err, iofs.ErrPermission) {
		return syscall.EACCES
	}
	switch Of(err) {
	case NotFound:
		return syscall.ENOENT
	case Unsupported:
		return syscall.EOPNOTSUPP
	case Usage:
		return syscall.EINVAL
	case Interrupted:
		return syscall.EINTR
	case Refused:
		return syscall.EPERM
	}
	return syscall.EIO
}
