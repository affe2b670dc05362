//go:build linux

package vhdx

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// fileMap is a read-only shared mapping of a layer file, made on first use
// by Chain.Views.
type fileMap struct {
	once sync.Once
	data atomic.Pointer[[]byte] // nil until mapped, and after unmap
}

// mapped returns the file mapped read-only, or nil when it cannot be: no
// file (NewDisk over a reader), a log replayed in memory (the file is not
// what the disk reads), or mmap refused.
func (d *Disk) mapped() []byte {
	d.fmap.once.Do(func() {
		size := d.FileSize
		if d.file == nil || d.LogReplayed || size <= 0 || int64(int(size)) != size {
			return
		}
		b, err := unix.Mmap(int(d.file.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			return
		}
		d.fmap.data.Store(&b)
	})
	if p := d.fmap.data.Load(); p != nil {
		return *p
	}
	return nil
}

// unmap drops the mapping; views handed out before are invalid afterwards.
func (d *Disk) unmap() {
	if p := d.fmap.data.Swap(nil); p != nil {
		unix.Munmap(*p)
	}
}
