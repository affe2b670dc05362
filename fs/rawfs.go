//go:build linux

package fs

import (
	"sync"
	"sync/atomic"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Directories without OPENDIR.
//
// A walk through go-fuse's node tree costs four requests per directory
// before any name in it is looked at: OPENDIR, READDIR(PLUS) until an
// empty reply, RELEASEDIR. The kernel can do without the first and last
// (FUSE_NO_OPENDIR_SUPPORT in its INIT): once an OPENDIR is answered
// ENOSYS it sends none again for the mount, nor RELEASEDIR, and reads
// every directory with file handle 0. It then also keeps each listing in
// its page cache across opens (it defaults to FOPEN_KEEP_CACHE and
// FOPEN_CACHE_DIR for such directories, fs/fuse/file.c fuse_file_open),
// which is right here: nothing in the tree changes while it is mounted.
//
// go-fuse's bridge has no handle-less directory reads, so RawFS keeps one
// handle per directory node for them, opened through the bridge at the
// first READDIR with handle 0 and released once a reply came back empty
// (the listing was read to its end and the kernel has cached it) or when
// the kernel forgets the node. Readers at different offsets share it: the
// bridge serializes them and seeks the handle (every directory stream of
// the tree can seek).

// RawFS is go-fuse's node tree bridge with handle-less directory reads
// and request counts (Requests).
type RawFS struct {
	fuse.RawFileSystem
	server atomic.Pointer[fuse.Server]

	dirMu sync.Mutex
	dirs  map[uint64]*dirUse // by node id, for reads with handle 0

	counts [numOps]atomic.Uint64
}

// dirUse is the handle RawFS opened for reads of one directory with
// handle 0.
type dirUse struct {
	fh    uint64
	users int  // requests using fh now
	done  bool // a read reached the end: release once unused
}

// NewRawFS is gofs.NewNodeFS(root, opts) with the additions above.
func NewRawFS(root gofs.InodeEmbedder, opts *gofs.Options) *RawFS {
	return &RawFS{RawFileSystem: gofs.NewNodeFS(root, opts), dirs: map[uint64]*dirUse{}}
}

// Mount mounts root at dir through a RawFS, as gofs.Mount does through
// go-fuse's bridge, and returns once the kernel has sent INIT.
func Mount(dir string, root gofs.InodeEmbedder, opts *gofs.Options) (*fuse.Server, *RawFS, error) {
	raw := NewRawFS(root, opts)
	server, err := fuse.NewServer(raw, dir, &opts.MountOptions)
	if err != nil {
		return nil, nil, err
	}
	go server.Serve()
	if err := server.WaitMount(); err != nil {
		return nil, nil, err
	}
	return server, raw, nil
}

// Init keeps the server, whose INIT settings say whether the kernel can
// do without OPENDIR.
func (r *RawFS) Init(s *fuse.Server) {
	r.server.Store(s)
	r.RawFileSystem.Init(s)
}

// noOpendir tells whether the kernel takes ENOSYS for OPENDIR as "no
// directory opens on this mount".
func (r *RawFS) noOpendir() bool {
	s := r.server.Load()
	if s == nil {
		return false
	}
	ks := s.KernelSettings()
	return ks != nil && ks.Flags64()&fuse.CAP_NO_OPENDIR_SUPPORT != 0
}

// OpenDir answers ENOSYS where the kernel can read directories without
// opening them; elsewhere the bridge opens them as before.
func (r *RawFS) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	r.count(opOpendir)
	if r.noOpendir() {
		return fuse.ENOSYS
	}
	return r.RawFileSystem.OpenDir(cancel, in, out)
}

// ReadDir reads a listing, through a shared handle for handle 0.
func (r *RawFS) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	r.count(opReaddir)
	return r.readDir(cancel, in, out, r.RawFileSystem.ReadDir)
}

// ReadDirPlus is ReadDir with attributes (see guestdirhandle.go for which
// entries carry them).
func (r *RawFS) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	r.count(opReaddirplus)
	return r.readDir(cancel, in, out, r.RawFileSystem.ReadDirPlus)
}

type readDirFunc func(<-chan struct{}, *fuse.ReadIn, *fuse.DirEntryList) fuse.Status

func (r *RawFS) readDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList, read readDirFunc) fuse.Status {
	if in.Fh != 0 {
		return read(cancel, in, out)
	}
	fh, st := r.acquireDir(cancel, in)
	if !st.Ok() {
		return st
	}
	shared := *in
	shared.Fh = fh
	st = read(cancel, &shared, out)
	// No entry added: the end of the listing (entries carry offsets
	// past the one asked for).
	r.releaseDir(in.NodeId, st.Ok() && out.Offset == in.Offset)
	return st
}

// acquireDir returns the shared handle of the directory, opening it
// through the bridge if needed; each acquireDir is followed by one
// releaseDir.
func (r *RawFS) acquireDir(cancel <-chan struct{}, in *fuse.ReadIn) (uint64, fuse.Status) {
	r.dirMu.Lock()
	defer r.dirMu.Unlock()
	u := r.dirs[in.NodeId]
	if u == nil {
		open := fuse.OpenIn{InHeader: in.InHeader, Flags: in.Flags}
		var out fuse.OpenOut
		if st := r.RawFileSystem.OpenDir(cancel, &open, &out); !st.Ok() {
			return 0, st
		}
		u = &dirUse{fh: out.Fh}
		r.dirs[in.NodeId] = u
	}
	u.users++
	u.done = false
	return u.fh, fuse.OK
}

// releaseDir ends one use of the shared handle; eof says the use read
// to the end, after which the handle goes once nobody uses it.
func (r *RawFS) releaseDir(node uint64, eof bool) {
	r.dirMu.Lock()
	u := r.dirs[node]
	u.users--
	u.done = u.done || eof
	drop := u.done && u.users == 0
	if drop {
		delete(r.dirs, node)
	}
	r.dirMu.Unlock()
	if drop {
		r.closeDir(node, u.fh)
	}
}

func (r *RawFS) closeDir(node, fh uint64) {
	r.RawFileSystem.ReleaseDir(&fuse.ReleaseIn{InHeader: fuse.InHeader{NodeId: node}, Fh: fh})
}

// Forget drops the shared directory handle of a node the kernel forgets
// (a listing never read to its end), then lets the bridge forget it.
func (r *RawFS) Forget(node, nlookup uint64) {
	r.count(opForget)
	r.dirMu.Lock()
	u := r.dirs[node]
	switch {
	case u != nil && u.users == 0:
		delete(r.dirs, node)
	case u != nil:
		u.done, u = true, nil // the last reader releases it
	}
	r.dirMu.Unlock()
	if u != nil {
		r.closeDir(node, u.fh)
	}
	r.RawFileSystem.Forget(node, nlookup)
}

// ReleaseDir passes on the release of a directory opened with OPENDIR
// (kernels without FUSE_NO_OPENDIR_SUPPORT).
func (r *RawFS) ReleaseDir(in *fuse.ReleaseIn) {
	r.count(opReleasedir)
	r.RawFileSystem.ReleaseDir(in)
}
