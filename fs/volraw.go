//go:build linux

package fs

import (
	"context"
	"io"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/vhdx"
)

// volumes/<volume>.raw is a volume's own bytes (a partition, an LVM
// volume, a decrypted volume, a shadow copy) served by rawFile like a disk
// image: for a volume that is one window of its disk, the disk's extents
// (SEEK_DATA/SEEK_HOLE, st_blocks) and views; for any other (a remapped
// LVM volume, a layer's output) its reader, all data.

// volumeImage is the vhdx.Image of volume v on disk img.
func volumeImage(img vhdx.Image, v *guest.Volume) vhdx.Image {
	if _, ok := v.ShadowExtents(0, 0); ok {
		return shadowImage{v}
	}
	if v.Remapped {
		return &readerImage{r: v.Reader, size: v.Size}
	}
	return &windowImage{img: img, start: v.Start, size: v.Size}
}

// windowImage is bytes [start, start+size) of a disk image.
type windowImage struct {
	img         vhdx.Image
	start, size int64
}

var (
	_ vhdx.Image = (*windowImage)(nil)
	_ viewer     = (*windowImage)(nil)
	_ vhdx.Image = (*readerImage)(nil)
)

func (w *windowImage) Size() int64 { return w.size }

func (w *windowImage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= w.size {
		return 0, io.EOF
	}
	short := int64(len(p)) > w.size-off
	if short {
		p = p[:w.size-off]
	}
	n, err := w.img.ReadAt(p, w.start+off)
	if err == nil && short {
		err = io.EOF
	}
	return n, err
}

// Extents are the disk's, shifted to the volume's offsets.
func (w *windowImage) Extents(off, n int64) ([]vhdx.Extent, error) {
	off, n = clipRange(off, n, w.size)
	if n == 0 {
		return nil, nil
	}
	exts, err := w.img.Extents(w.start+off, n)
	if err != nil {
		return nil, err
	}
	out := make([]vhdx.Extent, len(exts))
	for i, e := range exts {
		e.Off -= w.start
		out[i] = e
	}
	return out, nil
}

// Views are the disk's, when it gives them.
func (w *windowImage) Views(off int64, n int) ([][]byte, bool) {
	v, ok := w.img.(viewer)
	if !ok || off < 0 || off >= w.size {
		return nil, false
	}
	return v.Views(w.start+off, int(min(int64(n), w.size-off)))
}

// HeldViews are the disk's, when it lends them.
func (w *windowImage) HeldViews(off int64, n int) ([][]byte, func(), bool, error) {
	v, ok := w.img.(heldViewer)
	if !ok || off < 0 || off >= w.size {
		return nil, nil, false, nil
	}
	return v.HeldViews(w.start+off, int(min(int64(n), w.size-off)))
}

// readerImage is a volume known only by its reader: all data.
type readerImage struct {
	r    io.ReaderAt
	size int64
}

func (r *readerImage) Size() int64 { return r.size }

func (r *readerImage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= r.size {
		return 0, io.EOF
	}
	short := int64(len(p)) > r.size-off
	if short {
		p = p[:r.size-off]
	}
	n, err := r.r.ReadAt(p, off)
	if err == nil && short {
		err = io.EOF
	}
	return n, err
}

func (r *readerImage) Extents(off, n int64) ([]vhdx.Extent, error) {
	off, n = clipRange(off, n, r.size)
	if n == 0 {
		return nil, nil
	}
	return []vhdx.Extent{{Off: off, Len: n, Kind: vhdx.ExtentData}}, nil
}

// clipRange clips [off, off+n) to [0, size).
func clipRange(off, n, size int64) (int64, int64) {
	off = max(off, 0)
	if off >= size || n <= 0 {
		return off, 0
	}
	return off, min(n, size-off)
}

// lazyDir is a directory of the static skeleton whose children are added
// by fill, once, when something first looks inside (volumes/: finding the
// volumes reads partition tables and filesystems).
type lazyDir struct {
	dirNode
	fill func(ctx context.Context)
}

var (
	_ = (gofs.NodeLookuper)((*lazyDir)(nil))
	_ = (gofs.NodeReaddirer)((*lazyDir)(nil))
)

// Lookup fills the directory, then finds name in it.
func (d *lazyDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	d.fill(ctx)
	return lookupChild(ctx, d.EmbeddedInode(), name, out)
}

// Readdir fills the directory, then lists it sorted.
func (d *lazyDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	d.fill(ctx)
	return sortedChildren(d.EmbeddedInode()), 0
}
