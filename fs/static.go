//go:build linux

package fs

import (
	"context"
	"sort"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// cacheTimeout is how long the kernel may keep entries and attributes.
// Nothing in the tree ever changes while mounted, so it is long.
const cacheTimeout = 24 * time.Hour

// Mode bits of the read-only tree.
const (
	modeDir  = syscall.S_IFDIR | 0o555
	modeFile = syscall.S_IFREG | 0o444
	modeLink = syscall.S_IFLNK | 0o777
)

// setTimes sets all three times of a to t.
func setTimes(a *fuse.Attr, t time.Time) {
	a.SetTimes(&t, &t, &t)
}

// sortedChildren lists the children of n sorted by name.
func sortedChildren(n *gofs.Inode) gofs.DirStream {
	kids := n.Children()
	names := make([]string, 0, len(kids))
	for name := range kids {
		names = append(names, name)
	}
	sort.Strings(names)
	list := dots(n, len(names))
	for _, name := range names {
		ch := kids[name]
		list = append(list, fuse.DirEntry{Name: name, Mode: ch.Mode(), Ino: ch.StableAttr().Ino})
	}
	return gofs.NewListDirStream(list)
}

// dots starts a directory listing with "." and "..", as every other
// filesystem lists them (ls -a, and tools that count on them); go-fuse
// passes them to the kernel without looking them up. room is how many
// more entries will follow.
func dots(n *gofs.Inode, room int) []fuse.DirEntry {
	list := make([]fuse.DirEntry, 0, room+2)
	self := n.StableAttr().Ino
	up := self // the root is its own parent
	if _, p := n.Parent(); p != nil {
		up = p.StableAttr().Ino
	}
	return append(list,
		fuse.DirEntry{Name: ".", Mode: syscall.S_IFDIR, Ino: self},
		fuse.DirEntry{Name: "..", Mode: syscall.S_IFDIR, Ino: up})
}

// dirNode is a directory of the static top, whose children are made once
// when the tree is built.
type dirNode struct {
	gofs.Inode
	mtime time.Time
}

var (
	_ = (gofs.NodeGetattrer)((*dirNode)(nil))
	_ = (gofs.NodeReaddirer)((*dirNode)(nil))
)

// Getattr reports a read-only directory.
func (d *dirNode) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = modeDir
	out.Ino = d.StableAttr().Ino
	setTimes(&out.Attr, d.mtime)
	out.SetTimeout(cacheTimeout)
	return 0
}

// Readdir lists the children sorted by name.
func (d *dirNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	return sortedChildren(d.EmbeddedInode()), 0
}

// symlinkNode is a symlink of the static top (by-time, latest).
type symlinkNode struct {
	gofs.Inode
	target string
	mtime  time.Time
}

var (
	_ = (gofs.NodeGetattrer)((*symlinkNode)(nil))
	_ = (gofs.NodeReadlinker)((*symlinkNode)(nil))
)

// Getattr reports a symlink whose size is its target's length.
func (s *symlinkNode) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = modeLink
	out.Ino = s.StableAttr().Ino
	out.Size = uint64(len(s.target))
	setTimes(&out.Attr, s.mtime)
	out.SetTimeout(cacheTimeout)
	return 0
}

// Readlink returns the target.
func (s *symlinkNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	return []byte(s.target), 0
}

// bytesFile is a small generated file (checkpoint.json) whose content is
// made on first use and then kept.
type bytesFile struct {
	gofs.Inode
	mtime time.Time
	make  func() ([]byte, error)

	once sync.Once
	data []byte
	err  error
}

var (
	_ = (gofs.NodeGetattrer)((*bytesFile)(nil))
	_ = (gofs.NodeOpener)((*bytesFile)(nil))
	_ = (gofs.NodeReader)((*bytesFile)(nil))
)

func (b *bytesFile) content() ([]byte, error) {
	b.once.Do(func() { b.data, b.err = b.make() })
	return b.data, b.err
}

// Getattr reports a read-only file of the content's size.
func (b *bytesFile) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	data, err := b.content()
	if err != nil {
		return toErrno(err)
	}
	out.Mode = modeFile
	out.Ino = b.StableAttr().Ino
	out.Size = uint64(len(data))
	setTimes(&out.Attr, b.mtime)
	out.SetTimeout(cacheTimeout)
	return 0
}

// Open refuses writing and lets the kernel keep its cache.
func (b *bytesFile) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EROFS
	}
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

// Read copies from the content.
func (b *bytesFile) Read(ctx context.Context, f gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	data, err := b.content()
	if err != nil {
		return nil, toErrno(err)
	}
	if off >= int64(len(data)) || off < 0 {
		return fuse.ReadResultData(nil), 0
	}
	n := copy(dest, data[off:])
	return fuse.ReadResultData(dest[:n]), 0
}
