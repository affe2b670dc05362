package remote

import "golang.org/x/sys/unix"

// hugeAdvise asks the kernel to back mem with transparent huge pages
// (ignored where they are off).
func hugeAdvise(mem []byte) { unix.Madvise(mem, unix.MADV_HUGEPAGE) }
