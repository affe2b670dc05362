//go:build linux

package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ckptfs/ckptfs/guest"
)

// Opens without requests.
//
// Reading a small file through a FUSE mount costs five requests: LOOKUP,
// OPEN, READ, FLUSH and RELEASE; hashing 50,000 files spent most of the
// server's CPU reading requests and writing replies. Nothing here is
// written and every file is read the same way by every reader, so the
// kernel is told (when it offers FUSE_NO_OPEN_SUPPORT, see Root.SetNoOpen)
// that regular files need no OPEN: the first OPEN is answered ENOSYS and
// the kernel sends none again for this mount, nor RELEASE, and reads
// arrive without a handle (it keeps the page cache across opens then, as
// FOPEN_KEEP_CACHE does). FLUSH is answered ENOSYS too, which stops it
// the same way. A read without a handle goes through one handle the node
// shares (guestFile.acquire), opened at the first read and closed once a
// read reaches the end of the file, so that a walk of a million files
// does not keep a million guest files open.

// guestFile is a regular file of a guest volume.
type guestFile struct {
	guestNode

	mu     sync.Mutex
	shared *guestHandle // for reads without a handle; nil until one
	users  int          // reads using shared now
}

var (
	_ = (gofs.NodeOpener)((*guestFile)(nil))
	_ = (gofs.NodeReader)((*guestFile)(nil))
	_ = (gofs.NodeFlusher)((*guestFile)(nil))
	_ = (gofs.NodeOnForgetter)((*guestFile)(nil))
	_ = (gofs.FileReleaser)((*guestHandle)(nil))
)

// Open opens the guest file; each open has its own handle, so no seek
// state is shared between readers. With opens skipped (see above) it
// answers ENOSYS, which the kernel takes as that.
func (g *guestFile) Open(ctx context.Context, flags uint32) (fh gofs.FileHandle, fl uint32, errno syscall.Errno) {
	defer recoverErrno(&errno)
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EROFS
	}
	if g.vol.noOpen != nil && g.vol.noOpen.Load() {
		return nil, 0, syscall.ENOSYS
	}
	h, err := g.open()
	if err != nil {
		return nil, 0, toErrno(err)
	}
	return h, fuse.FOPEN_KEEP_CACHE, 0
}

// open opens a handle of the guest file.
func (g *guestFile) open() (*guestHandle, error) {
	f, err := guest.OpenFile(g.vol.fsys, g.path, g.fi)
	if err != nil {
		return nil, err
	}
	h := &guestHandle{f: f}
	if m, ok := f.(guest.ExtentMapper); ok {
		h.views = newFileViews(g.vol.disk, g.vol.start, m, g.fi.Size())
	}
	return h, nil
}

// acquire returns the shared handle, opening it if needed; every acquire
// is followed by a release.
func (g *guestFile) acquire() (*guestHandle, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shared == nil {
		h, err := g.open()
		if err != nil {
			return nil, err
		}
		g.shared = h
	}
	g.users++
	return g.shared, nil
}

// release ends a read through the shared handle; done says the read
// reached the end of the file, when the handle is closed unless another
// read is using it.
func (g *guestFile) release(done bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.users--
	if done && g.users == 0 && g.shared != nil {
		g.shared.f.Close()
		g.shared = nil
	}
}

// OnForget closes the shared handle when the kernel forgets the file.
func (g *guestFile) OnForget() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.users == 0 && g.shared != nil {
		g.shared.f.Close()
		g.shared = nil
	}
}

// Flush is answered ENOSYS: nothing is ever written, and the kernel sends
// no FLUSH again for this mount.
func (g *guestFile) Flush(ctx context.Context, fh gofs.FileHandle) syscall.Errno {
	return syscall.ENOSYS
}

// Read reads at off through the handle, or through the shared one when
// the kernel opened the file without a request.
func (g *guestFile) Read(ctx context.Context, fh gofs.FileHandle, dest []byte, off int64) (res fuse.ReadResult, errno syscall.Errno) {
	defer recoverErrno(&errno)
	if off == 0 {
		g.vol.files.earn(1) // a walk reading files (guestdirhandle.go)
	}
	if fh == nil {
		// Mapped when it was looked up (allocBlocks): no open, no record
		// or inode read again (a walk reads a file long after its
		// listing described it, when the reader's caches have moved on).
		g.allocBlocks()
		if g.views != nil {
			if views, ok := g.views.views(off, len(dest)); ok {
				return fuse.ReadResultVector(views), 0
			}
		}
	}
	h, ok := fh.(*guestHandle)
	if fh == nil {
		var err error
		if h, err = g.acquire(); err != nil {
			return nil, toErrno(err)
		}
		defer func() { g.release(off+int64(len(dest)) >= g.fi.Size() || errno != 0) }()
		ok = true
	}
	if !ok {
		return nil, syscall.EBADF
	}
	if h.views != nil {
		if views, ok := h.views.views(off, len(dest)); ok {
			return fuse.ReadResultVector(views), 0
		}
	}
	n, err := readFull(h, g.fi.Size(), dest, off)
	if err != nil {
		return nil, toErrno(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// guestHandle is one open guest file.
type guestHandle struct {
	mu    sync.Mutex // serialises Seek+Read for files without ReadAt
	f     iofs.File
	views *fileViews // nil: every read goes through f

	seekOnce sync.Once // see seekExtents
	seek     []guest.Extent
}

// ReadAt reads through the file's own ReadAt, or by seeking.
func (h *guestHandle) ReadAt(p []byte, off int64) (int, error) {
	if ra, ok := h.f.(io.ReaderAt); ok {
		return ra.ReadAt(p, off)
	}
	s, ok := h.f.(io.Seeker)
	if !ok {
		return 0, fmt.Errorf("guest file cannot be read at an offset: %w", errUnsupported)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := s.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.ReadFull(h.f, p)
}

// Release closes the guest file.
func (h *guestHandle) Release(ctx context.Context) syscall.Errno {
	return toErrno(h.f.Close())
}

// Extended attribute names (see the package documentation).
const (
	xattrAttributes = "user.ckptfs.attributes"
	xattrCrtime     = "user.ckptfs.crtime"
	xattrStream     = "user."
	// maxXattr is the kernel's limit on one xattr value (XATTR_SIZE_MAX).
	maxXattr = 64 << 10
)

// xattrNames lists the extended attributes of the node: ours, the
// streams, then the filesystem's own (guest.Xattrer) by name.
func (n *guestNode) xattrNames() ([]string, error) {
	if n.fi == nil {
		return nil, nil
	}
	var names []string
	if n.meta.HasAttrs {
		names = append(names, xattrAttributes)
	}
	if !n.meta.Crtime.IsZero() {
		names = append(names, xattrCrtime)
	}
	if guest.CanOpenStreams(n.vol.fsys) {
		for _, s := range n.meta.Streams {
			if streamVisible(s) {
				names = append(names, xattrStream+s)
			}
		}
	}
	if n.meta.Xattrs {
		xs, err := n.ownXattrs()
		if err != nil {
			return nil, err
		}
		own := make([]string, 0, len(xs))
		for name := range xs {
			if ownXattrVisible(name) {
				own = append(own, name)
			}
		}
		sort.Strings(own)
		names = append(names, own...)
	}
	return names, nil
}

// ownXattrs returns the filesystem's own extended attributes, read once:
// `ls -l` asks for security.selinux and system.posix_acl_access of every
// file it lists, and decoding a record's attributes for each was a tenth
// of the mount's work in an `ls -l` of 100,000 NTFS files. A failed read
// is not kept.
func (n *guestNode) ownXattrs() (map[string][]byte, error) {
	n.xattrMu.Lock()
	defer n.xattrMu.Unlock()
	if n.xattrs == nil {
		xs, err := guest.ReadXattrs(n.fi)
		if err != nil {
			return nil, err
		}
		if xs == nil {
			xs = map[string][]byte{}
		}
		n.xattrs = xs
	}
	return n.xattrs, nil
}

// ownXattrVisible hides a filesystem's xattr whose name the kernel could
// not carry or that would shadow one of ours. (A reader may give its own
// user.ckptfs.* names, such as NTFS's user.ckptfs.reparse.)
func ownXattrVisible(name string) bool {
	return name != "" && len(name) <= 255 && !strings.ContainsRune(name, 0) &&
		name != xattrAttributes && name != xattrCrtime
}

// streamVisible hides streams whose xattr name could not be told apart
// from ours, or that the kernel could not carry.
func streamVisible(s string) bool {
	return s != "" && !strings.HasPrefix(s, "ckptfs.") && !strings.ContainsRune(s, 0) &&
		len(xattrStream)+len(s) <= 255
}

// xattr returns the value of one extended attribute.
func (n *guestNode) xattr(name string) ([]byte, error) {
	if n.fi == nil {
		return nil, syscall.ENODATA
	}
	if linuxOnlyXattr(name) && !guest.LinksArePOSIX(n.vol.fsys) {
		return nil, n.vol.absentXattr(name)
	}
	switch name {
	case xattrAttributes:
		if n.meta.HasAttrs {
			return fmt.Appendf(nil, "0x%08x", n.meta.Attrs), nil
		}
		return nil, syscall.ENODATA
	case xattrCrtime:
		if !n.meta.Crtime.IsZero() {
			return []byte(n.meta.Crtime.UTC().Format(time.RFC3339Nano)), nil
		}
		return nil, syscall.ENODATA
	}
	if stream, ok := strings.CutPrefix(name, xattrStream); ok && streamVisible(stream) && n.hasStream(stream) {
		return n.readStream(stream)
	}
	if n.meta.Xattrs && ownXattrVisible(name) {
		xs, err := n.ownXattrs()
		if err != nil {
			return nil, err
		}
		if v, ok := xs[name]; ok {
			if len(v) > maxXattr {
				return nil, syscall.E2BIG
			}
			return v, nil
		}
	}
	return nil, n.vol.absentXattr(name)
}

func (n *guestNode) hasStream(s string) bool {
	if !guest.CanOpenStreams(n.vol.fsys) {
		return false
	}
	for _, name := range n.meta.Streams {
		if name == s {
			return true
		}
	}
	return false
}

// readStream reads a whole alternate data stream, refusing one bigger than
// an xattr can be.
func (n *guestNode) readStream(stream string) ([]byte, error) {
	f, err := guest.OpenStream(n.vol.fsys, n.path, stream)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxXattr+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxXattr {
		return nil, syscall.E2BIG
	}
	return data, nil
}

// Getxattr answers one attribute, or its size when dest is too small.
func (n *guestNode) Getxattr(ctx context.Context, attr string, dest []byte) (sz uint32, errno syscall.Errno) {
	defer recoverErrno(&errno)
	val, err := n.xattr(attr)
	if err != nil {
		var e syscall.Errno
		if errors.As(err, &e) {
			return 0, e
		}
		return 0, toErrno(err)
	}
	if len(dest) < len(val) {
		return uint32(len(val)), syscall.ERANGE
	}
	return uint32(copy(dest, val)), 0
}

// Listxattr lists the attribute names, NUL-terminated.
func (n *guestNode) Listxattr(ctx context.Context, dest []byte) (sz uint32, errno syscall.Errno) {
	defer recoverErrno(&errno)
	names, err := n.xattrNames()
	if err != nil {
		return 0, toErrno(err)
	}
	var b []byte
	for _, name := range names {
		b = append(append(b, name...), 0)
	}
	if len(dest) < len(b) {
		return uint32(len(b)), syscall.ERANGE
	}
	return uint32(copy(dest, b)), 0
}
