//go:build linux

package fs

import (
	"context"
	iofs "io/fs"
	"sort"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"

	"github.com/ckptfs/ckptfs/guest"
)

// Allocated blocks and SEEK_DATA/SEEK_HOLE of guest files, from their
// extents (guest.ExtentMapper), for every filesystem that maps them. A
// sparse 5 GiB NTFS file shows the few blocks it holds, as ntfs-3g shows
// it, and `cp --sparse`, tar and rsync find its holes.

// guestBlockSize is st_blksize of guest files.
const guestBlockSize = 4096

var _ = (gofs.NodeLseeker)((*guestFile)(nil))

// allocBlocks returns st_blocks (512-byte units) of a regular file,
// computed once: the allocated extents, or for a file without them (NTFS
// resident data, ext inline data, a file the filesystem cannot map) its
// size rounded up, as if all of it were stored. A file of a few extents
// that map its bytes one to one keeps them (n.views): its reads are then
// answered without opening it again (guestFile.Read).
func (n *guestNode) allocBlocks() uint64 {
	n.blocksOnce.Do(func() {
		size := max(n.fi.Size(), 0)
		n.blocks = uint64(size+511) / 512
		exts, exact, ok := n.extents()
		if ok && len(exts) > 0 {
			n.blocks = uint64(guest.AllocatedBytes(exts, size)+511) / 512
		}
		if ok && exact && len(exts) > 0 && len(exts) <= maxKeptExtents && n.vol.disk != nil {
			n.views = &fileViews{disk: n.vol.disk, start: n.vol.start, size: size, exts: exts}
		}
	})
	return n.blocks
}

// maxKeptExtents bounds the extents a file node keeps (see allocBlocks):
// a node lives as long as the kernel's inode, and a walk makes thousands.
const maxKeptExtents = 4

// extents opens the file and returns its extents; ok is false when it
// cannot be opened or mapped.
func (n *guestNode) extents() (exts []guest.Extent, exact, ok bool) {
	f, err := guest.OpenFile(n.vol.fsys, n.path, n.fi)
	if err != nil {
		return nil, false, false
	}
	defer f.Close()
	exts, exact, ok, err = guest.FileExtents(f)
	return exts, exact, ok && err == nil
}

// seekExtents opens the file for an lseek without a handle.
func (n *guestNode) seekExtents() ([]guest.Extent, bool) {
	f, err := guest.OpenFile(n.vol.fsys, n.path, n.fi)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	return holeExtents(f), true
}

// holeExtents returns the extents of f when their holes are holes of its
// content (see guest.HoleMapper), else nil: all data.
func holeExtents(f iofs.File) []guest.Extent {
	exts, exact, ok, err := guest.FileExtents(f)
	if !ok || err != nil {
		return nil
	}
	if hm, isHM := f.(guest.HoleMapper); exact || (isHM && hm.HolesExact()) {
		return exts
	}
	return nil
}

// Lseek answers SEEK_DATA and SEEK_HOLE from the file's extents: holes
// are absent and zero extents and gaps between extents; the end of the
// file is a hole. A file whose extents do not map its bytes one to one
// (compressed: a compression unit's sparse runs are not holes of the
// file), or that has none, is all data.
func (g *guestFile) Lseek(ctx context.Context, fh gofs.FileHandle, off uint64, whence uint32) (pos uint64, errno syscall.Errno) {
	defer recoverErrno(&errno)
	if whence != seekData && whence != seekHole {
		return 0, syscall.EINVAL
	}
	size := max(g.fi.Size(), 0)
	if off >= uint64(size) {
		return 0, syscall.ENXIO
	}
	var exts []guest.Extent
	if h, ok := fh.(*guestHandle); ok {
		exts = h.seekExtents()
	} else if e, ok := g.seekExtents(); ok {
		exts = e
	}
	p, ok := seekIn(exts, int64(off), size, whence == seekData)
	if !ok {
		return 0, syscall.ENXIO
	}
	return uint64(p), 0
}

// seekExtents returns the handle's extents for seeking, nil when the file
// is to be taken as all data.
func (h *guestHandle) seekExtents() []guest.Extent {
	h.seekOnce.Do(func() { h.seek = holeExtents(h.f) })
	return h.seek
}

// seekIn finds the first offset >= off that is data (wantData) or hole in
// a file of size bytes mapped by exts (sorted by FileOff); nil exts is all
// data. ok is false when no data follows off.
func seekIn(exts []guest.Extent, off, size int64, wantData bool) (int64, bool) {
	if exts == nil {
		if wantData {
			return off, true
		}
		return size, true
	}
	i := sort.Search(len(exts), func(i int) bool { return exts[i].End() > off })
	pos := off
	for ; i < len(exts) && pos < size; i++ {
		e := exts[i]
		if e.FileOff > pos { // a gap before e is a hole
			if !wantData {
				return pos, true
			}
			pos = e.FileOff
		}
		if pos >= size {
			break
		}
		if e.Hole() != wantData {
			return pos, true
		}
		pos = e.End()
	}
	if wantData {
		return 0, false // only holes, or gaps, up to the end
	}
	return min(pos, size), true
}
