//go:build linux

package fs

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ckptfs/ckptfs/vhdx"
	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Whence values of lseek(2) that reach a FUSE server; the kernel answers
// SEEK_SET, SEEK_CUR and SEEK_END itself.
const (
	seekData = 3
	seekHole = 4
)

// seekWindow bounds one Extents query while looking for data or a hole, so
// that a huge disk is walked in pieces of bounded memory.
const seekWindow = 64 << 30

// rawFile is disks/<disk>.raw: the flattened disk at one checkpoint.
type rawFile struct {
	gofs.Inode
	img   vhdx.Image
	mtime time.Time

	blocksOnce sync.Once
	blocks     uint64 // 512-byte units holding data, for st_blocks
}

var (
	_ = (gofs.NodeGetattrer)((*rawFile)(nil))
	_ = (gofs.NodeOpener)((*rawFile)(nil))
	_ = (gofs.NodeReader)((*rawFile)(nil))
	_ = (gofs.NodeLseeker)((*rawFile)(nil))
)

// Getattr reports the virtual size, and as st_blocks only the data extents,
// so du and ls -s show how sparse the disk is.
func (r *rawFile) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = modeFile
	out.Ino = r.StableAttr().Ino
	out.Size = uint64(r.img.Size())
	out.Blksize = 4096
	out.Blocks = r.dataBlocks()
	setTimes(&out.Attr, r.mtime)
	out.SetTimeout(cacheTimeout)
	return 0
}

func (r *rawFile) dataBlocks() uint64 {
	r.blocksOnce.Do(func() {
		n, err := dataBytes(r.img)
		if err != nil {
			n = r.img.Size() // unknown: claim it is all there
		}
		r.blocks = uint64(n+511) / 512
	})
	return r.blocks
}

// dataBytes counts the bytes in data extents.
func dataBytes(img vhdx.Image) (int64, error) {
	var total int64
	size := img.Size()
	for pos := int64(0); pos < size; pos += seekWindow {
		exts, err := img.Extents(pos, min(seekWindow, size-pos))
		if err != nil {
			return 0, err
		}
		for _, e := range exts {
			if e.Kind == vhdx.ExtentData {
				total += e.Len
			}
		}
	}
	return total, nil
}

// Open refuses writing; the content never changes, so the kernel may keep
// its page cache across opens.
func (r *rawFile) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EROFS
	}
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

// viewer is an image that can answer a read with views of its files
// (*vhdx.Chain): no copy in the server.
type viewer interface {
	Views(off int64, n int) ([][]byte, bool)
}

// heldViewer is an image that can lend the memory blocks of remote
// layers too (*vhdx.Chain's HeldViews), held until released.
type heldViewer interface {
	HeldViews(off int64, n int) (views [][]byte, release func(), ok bool, err error)
}

// heldResult answers a read with views whose blocks stay held until the
// reply is written (go-fuse calls Done then).
type heldResult struct {
	vecs    [][]byte
	release atomic.Pointer[func()]
}

func newHeldResult(vecs [][]byte, release func()) *heldResult {
	r := &heldResult{vecs: vecs}
	r.release.Store(&release)
	return r
}

func (r *heldResult) Size() int {
	n := 0
	for _, v := range r.vecs {
		n += len(v)
	}
	return n
}

// Slices makes go-fuse write the reply with writev, from the blocks.
func (r *heldResult) Slices() ([][]byte, fuse.Status) { return r.vecs, fuse.OK }

func (r *heldResult) Bytes(buf []byte) ([]byte, fuse.Status) {
	buf = buf[:0]
	for _, v := range r.vecs {
		buf = append(buf, v...)
	}
	return buf, fuse.OK
}

func (r *heldResult) Done() {
	if rel := r.release.Swap(nil); rel != nil {
		(*rel)()
	}
}

// Read answers with views of the layer files where it can, or of a remote
// layer's memory blocks, else reads the disk into the kernel's buffer.
func (r *rawFile) Read(ctx context.Context, f gofs.FileHandle, dest []byte, off int64) (res fuse.ReadResult, errno syscall.Errno) {
	defer recoverErrno(&errno)
	if v, ok := r.img.(viewer); ok {
		if views, ok := v.Views(off, len(dest)); ok {
			return fuse.ReadResultVector(views), 0
		}
	}
	if v, ok := r.img.(heldViewer); ok {
		views, release, ok, err := v.HeldViews(off, len(dest))
		if err != nil {
			return nil, toErrno(err)
		}
		if ok {
			return newHeldResult(views, release), 0
		}
	}
	n, err := readFull(r.img, r.img.Size(), dest, off)
	if err != nil {
		return nil, toErrno(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// readFull reads min(len(dest), size-off) bytes at off; io.EOF at the end
// is not an error.
func readFull(r io.ReaderAt, size int64, dest []byte, off int64) (int, error) {
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if off >= size {
		return 0, nil
	}
	if int64(len(dest)) > size-off {
		dest = dest[:size-off]
	}
	n, err := r.ReadAt(dest, off)
	if err == io.EOF && n == len(dest) {
		err = nil
	}
	if err == nil && n < len(dest) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// Lseek answers SEEK_DATA and SEEK_HOLE from the extents: absent and
// zero ranges are holes, and the end of the disk is a hole.
func (r *rawFile) Lseek(ctx context.Context, f gofs.FileHandle, off uint64, whence uint32) (pos uint64, errno syscall.Errno) {
	defer recoverErrno(&errno)
	if whence != seekData && whence != seekHole {
		return 0, syscall.EINVAL
	}
	p, err := seekExtent(r.img, int64(off), whence == seekData)
	if err != nil {
		return 0, toErrno(err)
	}
	return uint64(p), 0
}

// seekExtent finds the first offset >= off that is data (wantData) or
// hole (!wantData). ENXIO when off is past the end or no data follows.
func seekExtent(img vhdx.Image, off int64, wantData bool) (int64, error) {
	size := img.Size()
	if off < 0 || off >= size {
		return 0, syscall.ENXIO
	}
	for pos := off; pos < size; pos += seekWindow {
		exts, err := img.Extents(pos, min(seekWindow, size-pos))
		if err != nil {
			return 0, err
		}
		if len(exts) == 0 {
			return 0, errors.New("raw image: extent query returned nothing")
		}
		for _, e := range exts {
			if e.End() <= off {
				continue
			}
			if (e.Kind == vhdx.ExtentData) == wantData {
				return max(e.Off, off), nil
			}
		}
	}
	if wantData {
		return 0, syscall.ENXIO
	}
	return size, nil
}
