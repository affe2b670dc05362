//go:build linux

package fs

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"log"
	"sync"
	"syscall"

	"github.com/ckptfs/ckptfs/vhdx"
)

// errUnsupported marks requests this tree does not serve (e.g. reading a
// symlink on a filesystem that cannot tell its target).
var errUnsupported = errors.New("ckptfs: not supported")

// toErrno is the one place that turns our errors into what the kernel
// hears. Faults in the images (format, checksum, chain, log) become EIO and
// are logged once per distinct message, so a damaged region gives EIO on
// the reads that touch it and one line in the log, not a flood.
func toErrno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		return errno
	case errors.Is(err, iofs.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, iofs.ErrPermission):
		return syscall.EACCES
	case errors.Is(err, iofs.ErrInvalid):
		return syscall.EINVAL
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return syscall.EINTR
	case errors.Is(err, vhdx.ErrUnsupported), errors.Is(err, errUnsupported),
		errors.Is(err, errors.ErrUnsupported):
		logOnce(err)
		return syscall.EOPNOTSUPP
	}
	// vhdx.ErrFormat, ErrChecksum, ErrParent, ErrLog, the ntfs format
	// errors, short reads and anything unknown: the data cannot be
	// given, and the user should know why.
	logOnce(err)
	return syscall.EIO
}

// maxLogged bounds the memory spent remembering logged messages; beyond it
// a hostile image could otherwise grow the set without end.
const maxLogged = 4096

var logged = struct {
	sync.Mutex
	seen map[string]bool
	full bool
}{seen: map[string]bool{}}

// logOnce logs err unless the same message was logged before.
func logOnce(err error) {
	msg := err.Error()
	logged.Lock()
	defer logged.Unlock()
	if logged.seen[msg] || logged.full {
		return
	}
	if len(logged.seen) >= maxLogged {
		logged.full = true
		log.Printf("ckptfs: too many distinct errors, no longer logging them")
		return
	}
	logged.seen[msg] = true
	log.Printf("ckptfs: %v", err)
}

// recoverErrno turns a panic in a reader below us into EIO: a parser bug on
// a hostile image must cost one request, not the whole mount.
func recoverErrno(errno *syscall.Errno) {
	if r := recover(); r != nil {
		logOnce(panicError{r})
		*errno = syscall.EIO
	}
}

type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprintf("internal error (recovered panic): %v", p.v) }
