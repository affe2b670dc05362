//go:build linux

package fs

import (
	"sort"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/vhdx"
)

// maxFileViews bounds the pieces of one guest file read answered by views
// (writev takes at most 1024); a more fragmented read is copied instead.
const maxFileViews = 256

// fileViews maps a guest file's bytes one to one onto the disk, so a read
// of the file is answered with views of the disk (see vhdx.Chain.Views)
// instead of being copied through the filesystem reader and the chain.
type fileViews struct {
	disk  viewer
	start int64 // the volume's offset on the disk
	size  int64
	exts  []guest.Extent // by FileOff, covering [0, size)
}

// newFileViews returns the mapping of f (size bytes), or nil when its
// bytes are not its clusters' bytes (resident, compressed, encrypted,
// partly initialized, inline) or the disk cannot give views.
func newFileViews(disk viewer, start int64, f guest.ExtentMapper, size int64) *fileViews {
	if disk == nil {
		return nil
	}
	exts, exact, err := f.Extents()
	if err != nil || !exact || len(exts) == 0 {
		return nil
	}
	return &fileViews{disk: disk, start: start, size: size, exts: exts}
}

// views returns the bytes of [off, off+n) clipped to the file, or false
// when the read must be copied.
func (fv *fileViews) views(off int64, n int) ([][]byte, bool) {
	end := min(off+int64(n), fv.size)
	if off >= end {
		return nil, true
	}
	i := sort.Search(len(fv.exts), func(i int) bool { return fv.exts[i].FileOff+fv.exts[i].Len > off })
	var out [][]byte
	for pos := off; pos < end; i++ {
		if i >= len(fv.exts) || fv.exts[i].FileOff > pos {
			return nil, false // a gap the extents do not cover
		}
		e := fv.exts[i]
		l := min(e.FileOff+e.Len, end) - pos
		var part [][]byte
		var ok bool
		if e.Hole() {
			part, ok = vhdx.AppendZeroViews(nil, l), true
		} else {
			part, ok = fv.disk.Views(fv.start+e.VolOff+(pos-e.FileOff), int(l))
		}
		if !ok || len(out)+len(part) > maxFileViews || viewsLen(part) != l {
			return nil, false // short: clusters past the end of the disk
		}
		out = append(out, part...)
		pos += l
	}
	return out, true
}

func viewsLen(views [][]byte) int64 {
	var n int64
	for _, v := range views {
		n += int64(len(v))
	}
	return n
}
