//go:build linux

package mount

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// LockShared takes a shared, non-blocking flock on each file, as every
// reader of disk files does; a merge takes an exclusive one on the files it
// changes, so the two exclude each other. release closes the files, which
// drops the locks; it may be called more than once.
func LockShared(files []string) (release func(), err error) {
	var held []*os.File
	closeAll := func() {
		for _, f := range held {
			f.Close()
		}
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		held = append(held, f)
		if err := flockShared(f); err != nil {
			closeAll()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("%s: %w (is a merge running?)", name, ErrLocked)
			}
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
	}
	return sync.OnceFunc(closeAll), nil
}

// flockShared retries on EINTR, which a signal during the call can cause.
func flockShared(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}
