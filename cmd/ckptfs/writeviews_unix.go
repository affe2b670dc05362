//go:build unix

package main

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// writeViews writes the slices to w in order; to a file or pipe in one
// writev per call of up to 1024 slices, not one write each (a raw image's
// mixed blocks lend their bytes in many small pieces).
func writeViews(w io.Writer, views [][]byte) error {
	f, ok := w.(*os.File)
	if !ok {
		return writeEach(w, views)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return writeEach(w, views)
	}
	for len(views) > 0 {
		var n int
		var werr error
		batch := views[:min(len(views), 1024)]
		if err := rc.Write(func(fd uintptr) bool {
			n, werr = unix.Writev(int(fd), batch)
			return werr != unix.EAGAIN
		}); err != nil {
			return err
		}
		if werr != nil {
			return &os.PathError{Op: "write", Path: f.Name(), Err: werr}
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		// Drop what was written; a short write leaves part of a slice.
		for n > 0 && len(views) > 0 {
			if n < len(views[0]) {
				views[0] = views[0][n:]
				break
			}
			n -= len(views[0])
			views = views[1:]
		}
	}
	return nil
}
