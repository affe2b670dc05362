// Package mount runs the read-only FUSE mount of a catalog in the
// foreground: it checks the mount point, takes shared locks on the disk
// files, mounts, reports readiness, and unmounts cleanly when the context
// is cancelled or the mount is removed with fusermount3 -u.
package mount

import (
	"fmt"
	"github.com/ckptfs/ckptfs/guest"
	"slices"

	"github.com/ckptfs/ckptfs/internal/errclass"
	"strconv"
	"strings"
)

// Errors Run and LockShared return; test with errors.Is.
var (
	// ErrInsideSource: the mount point lies inside the source folder,
	// where the mount would hide or recurse into its own input.
	ErrInsideSource = errclass.New(errclass.Refused, "mount point is inside the source folder")
	// ErrLocked: a disk file is locked exclusively, by a merge.
	ErrLocked = errclass.New(errclass.Refused, "disk file is locked by another process")
	// ErrOption: a -o option asks for something a read-only mount cannot do.
	ErrOption = errclass.New(errclass.Usage, "unsupported mount option")
	// ErrNotEmpty: the mount point holds files the mount would hide.
	ErrNotEmpty = errclass.New(errclass.Refused, "mount point is not empty")
)

// maxIO is the largest read the kernel sends (max_read) and the read-ahead
// window: large reads suit whole-disk copies (cp, qemu-img convert).
const maxIO = 1 << 20

// defaultReadAheadKB is the kernel read-ahead window Run asks for on the
// mount. The kernel gives a FUSE mount 128 KiB whatever max_readahead the
// server offers, so a sequential reader (cp, dd, qemu-img) sees one 128 KiB
// request at a time and every request waits for the last; with a few MiB
// the kernel keeps several 1 MiB requests in flight and the server reads
// the layers while the reader copies.
const defaultReadAheadKB = 4096

// Options tunes Run.
type Options struct {
	// AllowOther lets users other than the one mounting see the tree
	// (needs user_allow_other in /etc/fuse.conf for non-root users).
	AllowOther bool
	// Debug logs every FUSE request.
	Debug bool
	// Extra FUSE mount options passed through to fusermount3 as is.
	Extra []string
	// ReadAheadKB is the kernel read-ahead window of the mount in KiB; 0
	// means defaultReadAheadKB. Set with -o read_ahead_kb=N.
	ReadAheadKB int
	// CacheMem bounds in bytes what the volume readers' caches hold
	// together, over every volume of the mount (-o cache_mem=SIZE, with
	// K, M, G or T as --cache-mem takes it; 0: no bound beyond each
	// volume's own); used when CacheMemSet (see internal/membudget).
	CacheMem    int64
	CacheMemSet bool
	// Nonempty mounts over a folder that holds files, hiding them while
	// mounted; without it such a mount point is refused (-o nonempty).
	Nonempty bool
	// IgnoreCase and ShowMetafiles are the guest options of fs.Options
	// (-o ignore_case, -o show_metafiles).
	IgnoreCase    bool
	ShowMetafiles bool
	// NoRecovery shows guest filesystems without replaying a dirty ext
	// journal or XFS log (-o norecovery, or -o noload as ext4 names it);
	// it sets Guest.NoRecovery.
	NoRecovery bool
	// Requests, when set, is called once mounted with a function that
	// counts the FUSE requests of each kind (LOOKUP, READDIRPLUS, ...) the
	// mount has received so far (for measuring walks: CKPTFS_REQUESTS).
	Requests func(counts func() map[string]uint64)
	// Ready, when set, is called once the mounted tree answers requests.
	Ready func()
	// Guest carries the keys guest volumes are opened with (BitLocker);
	// nil opens what needs no key.
	Guest *guest.Options
}

// Parse adds one -o argument (comma-separated options) to o. allow_other
// and debug set their fields, ro is implied anyway, rw is refused, and
// anything else goes to Extra for fusermount3 to judge.
func (o *Options) Parse(s string) error {
	for _, opt := range strings.Split(s, ",") {
		opt = strings.TrimSpace(opt)
		switch opt {
		case "":
		case "allow_other":
			o.AllowOther = true
		case "debug":
			o.Debug = true
		case "ignore_case":
			o.IgnoreCase = true
		case "show_metafiles":
			o.ShowMetafiles = true
		case "ro":
		case "norecovery", "noload":
			o.NoRecovery = true
		case "nonempty":
			o.Nonempty = true
		case "rw":
			return fmt.Errorf("-o rw: %w: the mount is read-only", ErrOption)
		case "cache_mem":
			return fmt.Errorf("-o cache_mem: %w: it needs a value (cache_mem=SIZE)", ErrOption)
		case "read_ahead_kb":
			return fmt.Errorf("-o read_ahead_kb: %w: it needs a value (read_ahead_kb=N)", ErrOption)
		default:
			if v, ok := strings.CutPrefix(opt, "cache_mem="); ok {
				n, err := ParseSize(v)
				if err != nil {
					return fmt.Errorf("-o %s: %w: want a size such as 256M or 1G", opt, ErrOption)
				}
				o.CacheMem, o.CacheMemSet = n, true
				continue
			}
			if v, ok := strings.CutPrefix(opt, "read_ahead_kb="); ok {
				kb, err := strconv.Atoi(v)
				if err != nil || kb < 1 || kb > 1<<20 {
					return fmt.Errorf("-o %s: %w: want a number of KiB from 1 to 1048576", opt, ErrOption)
				}
				o.ReadAheadKB = kb
				continue
			}
			o.Extra = append(o.Extra, opt)
		}
	}
	return nil
}

// ParseSize reads a size in bytes, or in KiB, MiB, GiB or TiB with a K,
// M, G or T suffix (an "iB" or "B" after it is taken too): "512M", "1G".
func ParseSize(given string) (int64, error) {
	s := strings.TrimSpace(strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(given, "B"), "i")))
	mul := int64(1)
	if n := len(s); n > 0 {
		if i := strings.IndexByte("KMGT", s[n-1]); i >= 0 {
			mul = 1 << (10 * (i + 1))
			s = s[:n-1]
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mul {
		return 0, fmt.Errorf("not a size: %q (want bytes, or a number with K, M, G or T: 512M, 4G)", given)
	}
	return v * mul, nil
}

// Warnings says what a user should know about o before mounting: with
// allow_other and no default_permissions, every local user reads every
// guest file, whatever its owner and mode in the guest (the mount does not
// check them unless asked to).
func (o Options) Warnings() []string {
	if o.AllowOther && !slices.Contains(o.Extra, "default_permissions") {
		return []string{"allow_other without default_permissions: every user of this machine can read every guest file, " +
			"whatever its owner and mode in the guest; add -o default_permissions to have the kernel check them"}
	}
	return nil
}

func (o Options) readAheadKB() int {
	if o.ReadAheadKB > 0 {
		return o.ReadAheadKB
	}
	return defaultReadAheadKB
}

// kernelACLs reports whether the kernel is to check POSIX ACLs
// (FUSE_POSIX_ACL): with default_permissions, when it checks permissions at
// all. FUSE_POSIX_ACL turns default_permissions on by itself, so without
// that option it would take from the mounting user the files the guest's
// owners and modes keep from them, which the mount shows (see Warnings).
func (o Options) kernelACLs() bool {
	return slices.Contains(o.Extra, "default_permissions")
}
