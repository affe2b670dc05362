//go:build linux

package vhdx

import "golang.org/x/sys/unix"

// prefetch asks the kernel to start reading a range of the file in the
// background; the chain's read-ahead (readahead.go) decides what.
func (d *Disk) prefetch(off, n int64) {
	if d.hint != nil && n > 0 {
		d.hint.Prefetch(off, n)
		return
	}
	if d.file == nil || n <= 0 {
		return
	}
	unix.Fadvise(int(d.file.Fd()), off, n, unix.FADV_WILLNEED)
}
