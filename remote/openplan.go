package remote

import (
	"errors"
	"io"
	"path"
	"strings"

	"github.com/ckptfs/ckptfs/vhdx"
)

// Opening a disk file reads its structures one after the other: for a
// VHDX the headers and region tables (the first 320 KiB), which say where
// the metadata and the BAT are; for a VHD the footer at the end and the
// BAT its header names. A read at offset 0 of a disk file fetches that
// head, and as soon as it is here planOpen asks for the rest
// (vhdx.OpenRanges: the metadata table and items, the start of the BAT;
// the footer of a VHD) in one request, or two when they lie far apart.
// A layer's open so costs two requests and about half a megabyte, where
// fetching the first 4 MiB on the chance that they hold it all cost one
// request of 4 MiB; the warm-up of a chain's other layers (source.go)
// does the same for each of them at once.
func (f *file) planOpen() {
	if !isDiskName(f.key) || !f.planned.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer close(f.planCh)
		head, err := f.peek(0, min(vhdx.HeadSize, f.fi.Size))
		if err != nil {
			return // the open's own read reports it
		}
		var from, to int64
		flush := func() {
			if to > from {
				f.fetch(from, to-from)
			}
		}
		for _, r := range vhdx.OpenRanges(head, f.fi.Size) {
			// Ranges close together cost less in one request (see
			// openGap).
			if to > from && r[0]-to <= openGap {
				to = r[1]
				continue
			}
			flush()
			from, to = r[0], r[1]
		}
		flush()
	}()
}

// firstBytes is what a stat of key asks for with the object's
// description: a disk file's head (what its open reads first), else one
// block.
func firstBytes(key string) int64 {
	if isDiskName(key) {
		return (vhdx.HeadSize + BlockSize - 1) / BlockSize * BlockSize
	}
	return BlockSize
}

// adopt fills the first blocks of a new file from body, the response to
// the GET that described it (source.stat): its first read finds them. A
// body that fails part way leaves the rest for the reads to ask for; the
// description stands.
func (f *file) adopt(w *watch, body io.Reader) {
	c := memCache()
	n := min(firstBytes(f.key), f.fi.Size)
	dc := diskCache()
	for _, cl := range c.claim(f, 0, (n+BlockSize-1)/BlockSize, false) {
		if dc != nil {
			cl.onFill = func(i int64) { dc.put(f, i, cl.block(i)) }
		}
		pos := cl.first * BlockSize
		err := f.fill(cl, w, body, &pos, pos, pos+cl.size) // fill counts the bytes
		if err != nil {
			cl.err = errAbandoned // nobody waits yet: readers ask again
		}
		c.finish(f, cl)
		if err != nil {
			return
		}
	}
}

// Fetch asks for the blocks of a byte range that a read about to come
// wants, and more that it will want soon (a disk's sector bitmap): they
// stay cached as read blocks do, where read-ahead (Prefetch) is dropped
// once read.
func (f *file) Fetch(off, n int64) {
	if off < 0 || n <= 0 || off >= f.fi.Size {
		return
	}
	f.fetch(off, n)
}

// fetch asks for the blocks of [off, off+n) at once, as a read does (not
// a read-ahead: not queued behind the object's other requests, nor held
// back until a reader gets near).
func (f *file) fetch(off, n int64) {
	from, to := off/BlockSize, min((off+n+BlockSize-1)/BlockSize, f.blocks())
	f.start(memCache().claim(f, from, to, false), false)
}

// peek returns a copy of [off, off+n) of the object, fetching what is
// missing, without counting as a read (no read-ahead, no spent blocks).
func (f *file) peek(off, n int64) ([]byte, error) {
	out := make([]byte, n)
	c := memCache()
	last := (off + n - 1) / BlockSize
	for i := off / BlockSize; i <= last; {
		bb, cl := c.lookup(f, i)
		if bb == nil && cl == nil {
			f.fetch(i*BlockSize, (last+1-i)*BlockSize)
			continue
		}
		if bb == nil {
			cl.want(f, i)
			var err error
			if bb, err = cl.wait(i); errors.Is(err, errAbandoned) {
				continue
			} else if err != nil {
				return nil, err
			}
		}
		s := max(off, i*BlockSize)
		e := min(off+n, i*BlockSize+int64(len(bb.b)))
		copy(out[s-off:], bb.b[s-i*BlockSize:e-i*BlockSize])
		bb.release()
		i++
	}
	return out, nil
}

// isDifferencingName tells the names Hyper-V gives checkpoints'
// differencing disks: opening one opens its parents, which are worth
// warming up (a base .vhdx has none).
func isDifferencingName(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".avhdx", ".avhd":
		return true
	}
	return false
}
