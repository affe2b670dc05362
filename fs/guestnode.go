//go:build linux

package fs

import (
	"context"
	"errors"
	iofs "io/fs"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ckptfs/ckptfs/guest"
	"golang.org/x/sys/unix"
)

// volume is one guest filesystem shown as a directory of a checkpoint.
type volume struct {
	fsys iofs.FS
	// disk and start let guest file reads be answered with views of the
	// disk; disk is nil when it cannot give them.
	disk  viewer
	start int64
	// inos makes inode numbers differ between every volume of the
	// mount: the same file in two checkpoints or VMs may differ, and
	// go-fuse and the kernel's page cache are keyed by inode.
	inos  *inoSpace
	mtime time.Time // for a root the filesystem gives no FileInfo for
	// ignoreCase makes lookups match names as Windows does where the
	// filesystem can (-o ignore_case).
	ignoreCase bool
	// noOpen is the root's: regular files are opened without requests
	// (guestfile.go); nil in trees built without a root.
	noOpen *atomic.Bool
	// pre reads listings ahead of a walk (prefetch.go); nil reads each
	// listing when asked.
	pre *prefetcher
	// files says whether listings describe their files (guestdirhandle.go).
	files fileCredit
	// kernelACL is the root's: the kernel checks and caches POSIX ACLs
	// (xattrabsent.go); nil in trees built without a root.
	kernelACL *atomic.Bool
	volumeLabels
}

// readDir lists the folder at p, through the read-ahead if there is one.
func (v *volume) readDir(p string) ([]iofs.DirEntry, error) {
	if v.pre == nil {
		return iofs.ReadDir(v.fsys, p)
	}
	return v.pre.readDir(p)
}

// ino is the inode number of the file at p. Names of one file share it
// when the filesystem tells a guest.FileIdentity. Symlinks are always keyed by
// path: their rewritten target depends on where the name sits.
func (v *volume) ino(p string, fi iofs.FileInfo) uint64 {
	m := guest.MetaOf(fi)
	return v.inoFor(p, m.ID, m.HasID && fi.Mode()&iofs.ModeSymlink == 0)
}

// inoFor derives the inode number from the file's identity when it has
// one (hard links share it), else from its path (inode.go).
func (v *volume) inoFor(p string, id uint64, useID bool) uint64 {
	return v.inos.number(p, id, useID)
}

// lstat describes p without following a final symlink when the
// filesystem can tell symlinks apart.
func (v *volume) lstat(p string) (iofs.FileInfo, error) {
	if rl, ok := v.fsys.(iofs.ReadLinkFS); ok {
		return rl.Lstat(p)
	}
	return iofs.Stat(v.fsys, p)
}

// lookupIn describes name inside directory dir like lstat of the joined
// path, starting from the directory itself where the filesystem can (see
// guest.DirLookuper).
func (v *volume) lookupIn(dir *guestNode, name string) (iofs.FileInfo, error) {
	var fi iofs.FileInfo
	var err error
	if dl, ok := v.fsys.(guest.DirLookuper); ok && dir.fi != nil {
		fi, err = dl.LookupIn(dir.path, dir.fi, name)
	} else {
		fi, err = v.lstat(path.Join(dir.path, name))
	}
	if fl, ok := v.fsys.(guest.FoldLookuper); ok && v.ignoreCase && errors.Is(err, iofs.ErrNotExist) {
		// -o ignore_case: a name differing only in case, as Windows
		// would find it (the exact one came first).
		fi, err = fl.LookupFoldIn(dir.path, dir.fi, name)
	}
	return fi, err
}

// node makes the node for p; fi may be nil for the volume root.
func (v *volume) node(p string, fi iofs.FileInfo) (gofs.InodeEmbedder, gofs.StableAttr) {
	attr := gofs.StableAttr{Ino: v.ino(p, fi)}
	m := guest.MetaOf(fi)
	switch {
	case fi == nil || fi.IsDir():
		attr.Mode = syscall.S_IFDIR
		return &guestDir{guestNode: guestNode{vol: v, path: p, fi: fi, meta: m}}, attr
	case fi.Mode()&iofs.ModeSymlink != 0:
		attr.Mode = syscall.S_IFLNK
		return &guestLink{guestNode: guestNode{vol: v, path: p, fi: fi, meta: m}}, attr
	case specialMode(fi.Mode()) != 0:
		// A FIFO, socket or device node (WSL's on NTFS): shown as what it
		// is, with no data of its own to read.
		attr.Mode = specialMode(fi.Mode())
		return &guestNode{vol: v, path: p, fi: fi, meta: m}, attr
	default:
		attr.Mode = syscall.S_IFREG
		return &guestFile{guestNode: guestNode{vol: v, path: p, fi: fi, meta: m}}, attr
	}
}

// guestNode is what every guest file, directory and link shares: its path
// in the volume and the FileInfo it was found with (immutable).
type guestNode struct {
	gofs.Inode
	vol  *volume
	path string
	fi   iofs.FileInfo
	meta guest.FileMeta

	blocksOnce sync.Once // regular files: st_blocks, see allocBlocks
	blocks     uint64
	// views maps a small regular file onto the disk, kept from
	// allocBlocks (nil: none kept); see guestFile.Read.
	views *fileViews

	xattrMu sync.Mutex
	xattrs  map[string][]byte // see ownXattrs; nil until read
}

var (
	_ = (gofs.NodeGetattrer)((*guestNode)(nil))
	_ = (gofs.NodeGetxattrer)((*guestNode)(nil))
	_ = (gofs.NodeListxattrer)((*guestNode)(nil))
)

// Getattr reports the guest file's size, times and link count with
// read-only permissions.
func (n *guestNode) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fill(&out.Attr)
	out.SetTimeout(cacheTimeout)
	return 0
}

func (n *guestNode) fill(a *fuse.Attr) {
	a.Ino = n.StableAttr().Ino
	switch n.StableAttr().Mode {
	case syscall.S_IFDIR:
		a.Mode = modeDir
	case syscall.S_IFLNK:
		a.Mode = modeLink
	case syscall.S_IFREG:
		a.Mode = modeFile
	default: // FIFO, socket, device node
		a.Mode = n.StableAttr().Mode | 0o444
		if n.meta.HasDev {
			a.Rdev = uint32(unix.Mkdev(n.meta.Major, n.meta.Minor))
		}
	}
	if n.fi == nil {
		setTimes(a, n.vol.mtime)
		return
	}
	switch {
	case n.StableAttr().Mode == syscall.S_IFLNK:
		if n.meta.POSIX { // a link's mode means nothing, its owner does
			a.Uid, a.Gid = n.meta.UID, n.meta.GID
		}
	case n.meta.POSIX: // ext: the guest's bits, set-id and sticky included, and owner
		a.Mode = n.StableAttr().Mode | n.meta.Perm&0o7777
		a.Uid, a.Gid = n.meta.UID, n.meta.GID
	case n.fi.Mode().Perm() != 0: // NTFS: 0644, or 0444 for read-only files; FAT and ISO: 0444
		a.Mode = n.StableAttr().Mode | uint32(n.fi.Mode().Perm())
	}
	switch {
	case n.StableAttr().Mode == syscall.S_IFREG:
		a.Size = uint64(max(n.fi.Size(), 0))
		a.Blocks, a.Blksize = n.allocBlocks(), guestBlockSize
	case n.StableAttr().Mode == syscall.S_IFDIR && n.meta.POSIX:
		// ext, XFS and btrfs folders show their own size, as the kernel
		// shows it (an examiner compares them); Windows folders have none.
		a.Size = uint64(max(n.fi.Size(), 0))
	}
	mtime, atime, ctime := n.fi.ModTime(), n.meta.Atime, n.meta.Ctime
	if mtime.IsZero() || mtime.Year() < 1970 && n.path == "." {
		// A root with no time of its own (FAT keeps none) takes the
		// checkpoint's, as a root without a FileInfo does.
		mtime = n.vol.mtime
	}
	if atime.IsZero() {
		atime = mtime
	}
	if ctime.IsZero() {
		ctime = mtime
	}
	a.SetTimes(&atime, &mtime, &ctime)
	if n.meta.Nlink > 0 {
		a.Nlink = uint32(min(n.meta.Nlink, 1<<16))
	}
}

// guestDir is a directory of a guest volume, read on demand.
type guestDir struct {
	guestNode
}

var (
	_ = (gofs.NodeLookuper)((*guestDir)(nil))
	_ = (gofs.NodeReaddirer)((*guestDir)(nil))
)

// Lookup stats one name in the guest filesystem. A file looked up is one
// a listing could have described (guestdirhandle.go).
func (d *guestDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ch, errno := d.lookup(ctx, name, out)
	if errno == 0 && !ch.IsDir() {
		d.vol.files.earn(fileCreditLookup)
	}
	return ch, errno
}

// lookup is Lookup for a LOOKUP request or a READDIRPLUS entry.
func (d *guestDir) lookup(ctx context.Context, name string, out *fuse.EntryOut) (ch *gofs.Inode, errno syscall.Errno) {
	defer recoverErrno(&errno)
	if !validName(name) {
		return nil, syscall.ENOENT
	}
	p := path.Join(d.path, name)
	fi, err := d.vol.lookupIn(&d.guestNode, name)
	if err != nil {
		return nil, toErrno(err)
	}
	if d.vol.ignoreCase && fi.Name() != name && validName(fi.Name()) {
		// Found ignoring case: the node keeps the name as stored, so
		// that its path opens.
		p = path.Join(d.path, fi.Name())
	}
	node, attr := d.vol.node(p, fi)
	ch = d.NewInode(ctx, node, attr)
	// A hard link found under another name answers with the inode
	// already known; its attributes are the same.
	if af, ok := ch.Operations().(attrFiller); ok {
		af.fillAttr(&out.Attr)
	}
	out.SetEntryTimeout(cacheTimeout)
	out.SetAttrTimeout(cacheTimeout)
	return ch, 0
}

// attrFiller is how Lookup asks any guest node for its attributes.
type attrFiller interface{ fillAttr(a *fuse.Attr) }

func (n *guestNode) fillAttr(a *fuse.Attr) { n.fill(a) }

func (l *guestLink) fillAttr(a *fuse.Attr) {
	l.fill(a)
	if target, err := l.resolve(); err == nil {
		a.Size = uint64(len(target))
	}
}

// specialMode returns the S_IF* type of a FIFO, socket or device node, or
// 0 for any other type.
func specialMode(m iofs.FileMode) uint32 {
	switch {
	case m&iofs.ModeNamedPipe != 0:
		return syscall.S_IFIFO
	case m&iofs.ModeSocket != 0:
		return syscall.S_IFSOCK
	case m&iofs.ModeCharDevice != 0:
		return syscall.S_IFCHR
	case m&iofs.ModeDevice != 0:
		return syscall.S_IFBLK
	}
	return 0
}

// validName rejects names io/fs cannot take as one path element.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && iofs.ValidPath(name) &&
		!strings.ContainsRune(name, 0)
}

// Readdir lists the directory sorted by name (io/fs.ReadDir sorts).
func (d *guestDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	list, errno := d.listing(ctx)
	if errno != 0 {
		return nil, errno
	}
	return gofs.NewListDirStream(list), 0
}

// listing is the directory's entries with "." and "..", for Readdir and
// for open directory handles (guestdirhandle.go).
func (d *guestDir) listing(ctx context.Context) (list []fuse.DirEntry, errno syscall.Errno) {
	defer recoverErrno(&errno)
	ents, err := d.vol.readDir(d.path)
	if err != nil {
		return nil, toErrno(err)
	}
	list = dots(d.EmbeddedInode(), len(ents))
	var subdirs []string
	for _, e := range ents {
		name := e.Name()
		if !validName(name) {
			continue
		}
		mode := uint32(syscall.S_IFREG)
		switch {
		case e.IsDir():
			mode = syscall.S_IFDIR
		case e.Type()&iofs.ModeSymlink != 0:
			mode = syscall.S_IFLNK
		case specialMode(e.Type()) != 0:
			mode = specialMode(e.Type())
		}
		// The path only where it is used: a listing of files with
		// identities (NTFS, ext, ...) needs none, and joining one per
		// entry was a tenth of what a READDIRPLUS cost the server.
		var p string
		if mode == syscall.S_IFDIR || mode == syscall.S_IFLNK {
			p = path.Join(d.path, name)
		}
		var ino uint64
		if id, ok := guest.EntryID(e); ok {
			if !d.vol.inos.byID(id, mode != syscall.S_IFLNK) && p == "" {
				p = path.Join(d.path, name)
			}
			ino = d.vol.inoFor(p, id, mode != syscall.S_IFLNK)
		} else {
			fi, err := e.Info()
			if err != nil {
				fi = nil
			}
			if p == "" {
				p = path.Join(d.path, name)
			}
			ino = d.vol.ino(p, fi)
		}
		list = append(list, fuse.DirEntry{Name: name, Mode: mode, Ino: ino})
		if mode == syscall.S_IFDIR && d.vol.pre != nil {
			subdirs = append(subdirs, p)
		}
	}
	if d.vol.pre != nil {
		d.vol.pre.ahead(subdirs)
	}
	return list, 0
}

// guestLink is a guest symlink or junction, its target confined to the
// volume by guest.RewriteLink.
type guestLink struct {
	guestNode
	once   sync.Once
	target string
	err    error
}

var (
	_ = (gofs.NodeReadlinker)((*guestLink)(nil))
	_ = (gofs.NodeGetattrer)((*guestLink)(nil))
)

func (l *guestLink) resolve() (string, error) {
	l.once.Do(func() {
		rl, ok := l.vol.fsys.(iofs.ReadLinkFS)
		if !ok {
			l.err = errUnsupported
			return
		}
		raw, err := rl.ReadLink(l.path)
		if err != nil {
			l.err = err
			return
		}
		l.target = guest.RewriteLink(l.path, raw, !guest.LinksArePOSIX(l.vol.fsys))
	})
	return l.target, l.err
}

// Readlink returns the rewritten target.
func (l *guestLink) Readlink(ctx context.Context) (t []byte, errno syscall.Errno) {
	defer recoverErrno(&errno)
	target, err := l.resolve()
	if err != nil {
		return nil, toErrno(err)
	}
	return []byte(target), 0
}

// Getattr reports the size of the rewritten target, as readlink gives it.
func (l *guestLink) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	l.fillAttr(&out.Attr)
	out.SetTimeout(cacheTimeout)
	return 0
}
