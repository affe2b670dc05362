//go:build linux

package fs

import (
	"context"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Which entries a READDIRPLUS reply describes.
//
// With READDIRPLUS_AUTO (mount/run.go) the kernel asks for the first batch
// of every listing with attributes, whether or not anyone will stat the
// entries, and for later batches only once the listing program has looked
// names up (ls -l). go-fuse answers each entry of a plus batch with a
// LOOKUP done in the server: on NTFS one MFT record read and decoded, and
// a go-fuse inode made, per name. A `find` of many small directories
// (every listing one batch) thus paid a full lookup for every file it
// never stats: 51,000 lookups for 1,000 directories, three quarters of
// the mount's CPU.
//
// So the first batch describes directories only, which a walk descends
// into and would look up anyway; files and links go out as plain entries
// (node id 0: the kernel keeps their name and type and looks them up
// when asked). Batches the kernel asks for later, because the program
// stats what it lists, describe everything, as before.

// guestDirHandle is an open guest directory: its listing, read at the
// first READDIR, and where the reader is in it.
type guestDirHandle struct {
	d *guestDir

	mu     sync.Mutex
	loaded bool
	errno  syscall.Errno
	list   []fuse.DirEntry
	pos    int // index of the next entry Readdirent gives

	// req is the request being answered and start the position it
	// began at: go-fuse gives every READDIR(PLUS) request a context of
	// its own and calls Readdirent then Lookup for each entry of it.
	req   context.Context
	start int
}

var (
	_ = (gofs.NodeOpendirHandler)((*guestDir)(nil))
	_ = (gofs.FileReaddirenter)((*guestDirHandle)(nil))
	_ = (gofs.FileSeekdirer)((*guestDirHandle)(nil))
	_ = (gofs.FileLookuper)((*guestDirHandle)(nil))
	_ = (gofs.FileReleasedirer)((*guestDirHandle)(nil))
)

// OpendirHandle opens the directory; the listing is read at the first
// READDIR, as go-fuse's own handle does. The kernel may keep the listing
// in its page cache across opens (FOPEN_CACHE_DIR, FOPEN_KEEP_CACHE):
// nothing in a guest volume changes while it is mounted, so a second walk
// lists every directory without a request.
func (d *guestDir) OpendirHandle(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	return &guestDirHandle{d: d}, fuse.FOPEN_CACHE_DIR | fuse.FOPEN_KEEP_CACHE, 0
}

func (h *guestDirHandle) load(ctx context.Context) syscall.Errno {
	if !h.loaded {
		h.loaded = true
		h.list, h.errno = h.d.listing(ctx)
	}
	return h.errno
}

// Readdirent gives the next entry, its offset its position plus one.
func (h *guestDirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if errno := h.load(ctx); errno != 0 {
		return nil, errno
	}
	if ctx != h.req {
		h.req, h.start = ctx, h.pos
	}
	if h.pos >= len(h.list) {
		return nil, 0
	}
	e := h.list[h.pos]
	h.pos++
	e.Off = uint64(h.pos)
	return &e, 0
}

// Seekdir moves to the entry after offset off.
func (h *guestDirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	h.mu.Lock()
	defer h.mu.Unlock()
	if errno := h.load(ctx); errno != 0 {
		return errno
	}
	if off > uint64(len(h.list)) {
		return syscall.EINVAL
	}
	h.pos = int(off)
	h.req = nil
	return 0
}

// Lookup describes the entry just given in a READDIRPLUS reply, or
// declines (see the top of this file); declining sends the entry without
// attributes, which the kernel accepts.
func (h *guestDirHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	h.mu.Lock()
	first := h.start == 0
	var mode uint32
	if h.pos > 0 && h.pos <= len(h.list) && h.list[h.pos-1].Name == name {
		mode = h.list[h.pos-1].Mode
	}
	h.mu.Unlock()
	if first && mode != syscall.S_IFDIR {
		return nil, syscall.ENOENT
	}
	return h.d.Lookup(ctx, name, out)
}

// Releasedir drops the listing.
func (h *guestDirHandle) Releasedir(ctx context.Context, flags uint32) {
	h.mu.Lock()
	h.list = nil
	h.mu.Unlock()
}
