// Package mount runs the read-only FUSE mount of a catalog in the
// foreground: it checks the mount point, takes shared locks on the disk
// files, mounts, reports readiness, and unmounts cleanly when the context
// is cancelled or the mount is removed with fusermount3 -u.
package mount

import (
	"errors"
	"fmt"
	"strings"
)

// Errors Run and LockShared return; test with errors.Is.
var (
	// ErrInsideSource: the mount point lies inside the source folder,
	// where the mount would hide or recurse into its own input.
	ErrInsideSource = errors.New("mount point is inside the source folder")
	// ErrLocked: a disk file is locked exclusively, by a merge.
	ErrLocked = errors.New("disk file is locked by another process")
	// ErrOption: a -o option asks for something a read-only mount cannot do.
	ErrOption = errors.New("unsupported mount option")
)

// maxIO is the largest read the kernel sends (max_read) and the read-ahead
// window: large reads suit whole-disk copies (cp, qemu-img convert).
const maxIO = 1 << 20

// Options tunes Run.
type Options struct {
	// AllowOther lets users other than the one mounting see the tree
	// (needs user_allow_other in /etc/fuse.conf for non-root users).
	AllowOther bool
	// Debug logs every FUSE request.
	Debug bool
	// Extra FUSE mount options passed through to fusermount3 as is.
	Extra []string
	// Ready, when set, is called once the mounted tree answers requests.
	Ready func()
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
		case "ro":
		case "rw":
			return fmt.Errorf("-o rw: %w: the mount is read-only", ErrOption)
		default:
			o.Extra = append(o.Extra, opt)
		}
	}
	return nil
}
