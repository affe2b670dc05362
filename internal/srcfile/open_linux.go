//go:build linux

package srcfile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// openRead opens with O_NONBLOCK, so that even a FIFO swapped in after the
// check cannot block the open, and O_NOATIME, which only the file's owner
// (or CAP_FOWNER) may use: EPERM means "not yours", and the open is retried
// without it. O_NONBLOCK is cleared again once the file is known to be a
// regular file or device (Open checks with fstat).
func openRead(name string) (*os.File, error) {
	flags := unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK
	fd, err := openRetry(name, flags|unix.O_NOATIME)
	if errors.Is(err, unix.EPERM) {
		fd, err = openRetry(name, flags)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fcntl", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

func openRetry(name string, flags int) (int, error) {
	for {
		fd, err := unix.Open(name, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// NoAtime reports whether f was opened with O_NOATIME (for tests).
func NoAtime(f *os.File) bool {
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	return err == nil && fl&unix.O_NOATIME != 0
}
