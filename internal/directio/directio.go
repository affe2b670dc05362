// Package directio writes a file that is produced once and not read back
// soon (an export, a merge's copy) with O_DIRECT where the file system
// allows it. Through the page cache every byte of such a file costs a copy,
// dirty-page accounting and write-back later; on a busy machine that is
// seconds of kernel time per GiB, and the pages evict data the user still
// reads. O_DIRECT sends each aligned write from the caller's buffer
// straight to the device. Writes that are not aligned go through a normal
// descriptor of the same file.
package directio

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Align is the alignment of offsets, lengths and buffer addresses that
// writes need to go direct: the sector of a 4Kn disk, which satisfies every
// device.
const Align = 4096

// File is one output file written through two descriptors.
// Writes may run concurrently, as with os.File.
type File struct {
	*os.File             // buffered: unaligned writes, reads, Sync, Truncate
	direct   *os.File    // O_DIRECT on the same file; nil when not available
	refused  atomic.Bool // the device refused a direct write: stop trying
}

// New wraps an open file; name is its path, opened a second time with
// O_DIRECT. Where that fails (a file system without O_DIRECT, not Linux),
// every write is buffered.
func New(f *os.File, name string) *File {
	return &File{File: f, direct: openDirect(name)}
}

// Plain wraps an open file without O_DIRECT: every write is buffered.
func Plain(f *os.File) *File { return &File{File: f} }

// WriteAt writes p at off, directly when both are aligned.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	if f.Direct() && Aligned(p, off) {
		n, err := f.direct.WriteAt(p, off)
		if err == nil || !errors.Is(err, syscall.EINVAL) {
			return n, err
		}
		// The device wants a larger alignment than Align: stop trying.
		// (The descriptor stays open until Close: another write may be
		// using it.)
		f.refused.Store(true)
	}
	return f.File.WriteAt(p, off)
}

// Close closes both descriptors.
func (f *File) Close() error {
	if f.direct != nil {
		f.direct.Close()
		f.direct = nil
	}
	return f.File.Close()
}

// Direct reports whether aligned writes go direct.
func (f *File) Direct() bool { return f.direct != nil && !f.refused.Load() }

// Aligned reports whether a write of p at off can go direct.
func Aligned(p []byte, off int64) bool {
	return len(p) > 0 && off%Align == 0 && len(p)%Align == 0 &&
		uintptr(unsafe.Pointer(&p[0]))%Align == 0
}

// Buffer returns n bytes whose address is a multiple of Align.
func Buffer(n int) []byte {
	b := make([]byte, n+Align)
	skip := int(uintptr(unsafe.Pointer(&b[0])) % Align)
	if skip != 0 {
		skip = Align - skip
	}
	return b[skip : skip+n : skip+n]
}
