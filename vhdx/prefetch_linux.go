//go:build linux

package vhdx

import "golang.org/x/sys/unix"

// prefetch asks the kernel to start reading a range of the file in the
// background. A mixed unit's bytes are spread over several files at once,
// so the kernel's own read-ahead, which follows one file's sequential
// reads, starts late on each; the hint lets all layers load in parallel.
func (d *Disk) prefetch(off, n int64) {
	if d.file == nil || n <= 0 {
		return
	}
	unix.Fadvise(int(d.file.Fd()), off, n, unix.FADV_WILLNEED)
}
