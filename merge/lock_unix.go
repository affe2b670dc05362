//go:build unix

package merge

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockExclusive takes a non-blocking exclusive flock on each file. A
// mount holds shared locks on the files it reads, so this fails while
// one is mounted. release drops the locks.
func lockExclusive(files []string) (release func(), err error) {
	var held []*os.File
	release = func() {
		for _, f := range held {
			f.Close()
		}
		held = nil
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			release()
			return nil, err
		}
		held = append(held, f)
		for {
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if err != syscall.EINTR {
				break
			}
		}
		if err != nil {
			release()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("%w: %s is locked (mounted, or another merge runs); unmount it first", ErrLocked, name)
			}
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
	}
	return release, nil
}

// crash kills the process at once, as a power cut would stop it (used
// by CKPTFS_MERGE_CRASH_AFTER in tests).
func crash() {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}
