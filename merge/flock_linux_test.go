package merge

import (
	"os"
	"syscall"
)

// lockShared takes the shared lock a mount holds on a source file.
func lockShared(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
}
