//go:build linux

package fs

import (
	"errors"
	"fmt"
	"log"
	"sync"
	"syscall"

	"github.com/ckptfs/ckptfs/internal/errclass"
)

// errUnsupported marks requests this tree does not serve (e.g. reading a
// symlink on a filesystem that cannot tell its target).
var errUnsupported = errclass.New(errclass.Unsupported, "ckptfs: not supported")

// toErrno turns our errors into what the kernel hears, through the one
// classifier the CLI's exit codes use too (internal/errclass). Faults in
// the images (format, checksum, chain, log) become EIO and are logged
// once per distinct message, so a damaged region gives EIO on the reads
// that touch it and one line in the log, not a flood; so are unsupported
// features (EOPNOTSUPP), so the user learns which one.
func toErrno(err error) syscall.Errno {
	errno := errclass.Errno(err)
	if errno == syscall.EIO || errno == syscall.EOPNOTSUPP {
		var own syscall.Errno
		if !errors.As(err, &own) {
			logOnce(err)
		}
	}
	return errno
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
