//go:build unix

package catalog

import (
	"fmt"
	"io/fs"
	"syscall"
)

func statIdentity(st fs.FileInfo) Identity {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return Identity{Dev: uint64(s.Dev), Ino: uint64(s.Ino)}
	}
	return Identity{}
}

// LockShared takes a shared flock on the open file without waiting.
func (f *localFile) LockShared() error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		switch err {
		case nil:
			return nil
		case syscall.EINTR:
			continue
		case syscall.EWOULDBLOCK:
			return fmt.Errorf("%s: %w (is a merge running?)", f.Name(), ErrLocked)
		}
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
}

// Unlock drops the lock (closing the file drops it too).
func (f *localFile) Unlock() error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

var _ Locker = (*localFile)(nil)
