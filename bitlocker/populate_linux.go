//go:build linux

package bitlocker

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

var pageMask = uintptr(os.Getpagesize() - 1)

// populate has the kernel map the pages under a view before it is read
// (madvise MADV_POPULATE_READ, Linux 5.14): one system call instead of a
// page fault per few pages, and a page not yet read from disk is waited
// for inside the call, where the Go scheduler lends the goroutine's
// processor to others; in a page fault it would hold it. It returns
// false when the kernel says some page cannot be had (the file cut short,
// an I/O error): then the read goes through ReadAt, which says why.
// Other failures (an older kernel) leave the pages to be faulted in.
func populate(v []byte) bool {
	if len(v) == 0 {
		return true
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	start := p &^ pageMask
	end := (p + uintptr(len(v)) + pageMask) &^ pageMask
	_, _, e := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_POPULATE_READ)
	return !errors.Is(e, unix.EFAULT) && !errors.Is(e, unix.ENOMEM)
}
