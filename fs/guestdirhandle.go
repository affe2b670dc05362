//go:build linux

package fs

import (
	"context"
	"sync"
	"sync/atomic"
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
//
// Unless the walk uses its files. A walk that opens or stats every file
// (a hash of every file, grep -r, cp -r, tar, du) then pays a LOOKUP round
// trip per file, twice what the read itself costs for a small file: on
// ext4 a cold hash of 50,000 files took 1.5 times the kernel's time. So
// each volume keeps a credit of file descriptions (fileCredit): each file
// the first batch describes spends one, the first read of a file earns
// one back, and a LOOKUP of a file (one a listing could have described)
// earns fileCreditLookup. A walk that reads its files keeps the credit up
// and gets its files described (one request per small file: the READ);
// one that only stats them (du, ls -lR) sends a LOOKUP now and then, each
// worth a few folders; a find, which uses no file, spends what is left
// (at most fileCreditMax descriptions) and goes back to directories only.
// The cap is larger than the lead a lister has over the reader of its
// names (find | xargs: some thousands of paths in the pipe and on the
// command line).

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
	if first && mode != syscall.S_IFDIR && !h.d.vol.files.spend() {
		return nil, syscall.ENOENT
	}
	return h.d.lookup(ctx, name, out)
}

const (
	// fileCreditMax bounds a volume's credit of file descriptions: the
	// most a find run after a walk that used files describes for nothing.
	fileCreditMax = 16 << 10
	// fileCreditLookup is what a LOOKUP of a file earns.
	fileCreditLookup = 64
)

// fileCredit is how many files a first READDIRPLUS batch may still
// describe (see the top of this file).
type fileCredit struct{ n atomic.Int64 }

// earn adds k, up to fileCreditMax.
func (c *fileCredit) earn(k int64) {
	for {
		old := c.n.Load()
		if old >= fileCreditMax || c.n.CompareAndSwap(old, min(old+k, fileCreditMax)) {
			return
		}
	}
}

// spend takes one, if there is one.
func (c *fileCredit) spend() bool {
	for {
		old := c.n.Load()
		if old <= 0 {
			return false
		}
		if c.n.CompareAndSwap(old, old-1) {
			return true
		}
	}
}

// Releasedir drops the listing.
func (h *guestDirHandle) Releasedir(ctx context.Context, flags uint32) {
	h.mu.Lock()
	h.list = nil
	h.mu.Unlock()
}
