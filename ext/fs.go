package ext

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"syscall"

	"github.com/ckptfs/ckptfs/internal/gencache"
	"github.com/ckptfs/ckptfs/internal/membudget"
	"github.com/ckptfs/ckptfs/internal/srcfile"
)

// FS is an open ext2, ext3 or ext4 volume. It is safe for concurrent use.
type FS struct {
	r      io.ReaderAt
	size   int64
	geo    geometry
	tables []int64                           // inode table start of each group, in bytes
	chunks *gencache.Cache[int64, []byte]    // inode-table chunks by volume offset
	dirs   *gencache.Cache[uint32, []dirent] // listings by directory inode
	closer io.Closer
	// journal is what was done with a journal needing recovery.
	journal JournalState
}

var (
	_ fs.FS         = (*FS)(nil)
	_ fs.ReadDirFS  = (*FS)(nil)
	_ fs.StatFS     = (*FS)(nil)
	_ fs.ReadLinkFS = (*FS)(nil)
)

// NewFS opens the ext2/3/4 filesystem in r, of size bytes: it checks the
// superblock and reads where the inode tables lie. A journal left needing
// recovery is replayed in memory (see Journal); nothing is written.
func NewFS(r io.ReaderAt, size int64) (*FS, error) {
	return NewFSOptions(r, size, Options{})
}

// newFS opens the volume as its bytes are, without looking at the journal.
func newFS(r io.ReaderAt, size int64) (*FS, error) {
	sb := make([]byte, 1024)
	if err := readFull(r, size, sb, 1024); err != nil {
		return nil, formatErr(1024, "reading the superblock: %v", err)
	}
	geo, err := parseSuper(sb, size)
	if err != nil {
		return nil, err
	}
	v := &FS{r: r, size: size, geo: geo}
	v.chunks = gencache.New[int64, []byte](maxChunks, func(b []byte) int { return max(len(b)>>10, 1) })
	v.dirs = gencache.New[uint32, []dirent](maxCachedEntries, func(e []dirent) int { return len(e) })
	// The process-wide memory budget (internal/membudget): a listing
	// counts its entries and their names.
	v.chunks.Budget(membudget.Default, "ext inode tables", func(b []byte) int64 { return int64(cap(b)) })
	v.dirs.Budget(membudget.Default, "ext listings", direntBytes)
	if err := v.loadTables(); err != nil {
		return nil, err
	}
	return v, nil
}

// Open opens the ext filesystem in the named file (an image or a block
// device), read-only. Close releases the file.
func Open(name string) (*FS, error) {
	f, _, size, err := srcfile.Open(name)
	if err != nil {
		if errors.Is(err, srcfile.ErrNotFile) {
			err = fmt.Errorf("%w: %w", ErrFormat, err)
		}
		return nil, err
	}
	v, err := NewFS(f, size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	v.closer = f
	return v, nil
}

// Close closes the file Open opened; for NewFS it does nothing.
func (v *FS) Close() error {
	if v.closer == nil {
		return nil
	}
	return v.closer.Close()
}

// Label is the volume label (at most 16 bytes).
func (v *FS) Label() string { return v.geo.label }

// UUID is the filesystem UUID.
func (v *FS) UUID() [16]byte { return v.geo.uuid }

// BlockSize is the filesystem block size in bytes.
func (v *FS) BlockSize() int { return int(v.geo.blockSize) }

// NeedsRecovery reports a journal left needing recovery (the volume was
// not unmounted cleanly, or the checkpoint was taken while it was
// mounted). Journal says whether it was replayed.
func (v *FS) NeedsRecovery() bool { return v.geo.incompat&incompatRecover != 0 }

// POSIXLinks reports that link targets are POSIX paths.
func (v *FS) POSIXLinks() bool { return true }

// maxLinkHops is how many symbolic links one path follows, as Linux
// (MAXSYMLINKS) before ELOOP.
const maxLinkHops = 40

// walk resolves a slash-separated path from the root. Symbolic links on
// the way are followed inside the volume (absolute targets from its root,
// ".." never above it); the last one only when follow is set.
func (v *FS) walk(op, name string, follow bool) (*inode, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	fail := func(err error) (*inode, error) { return nil, &fs.PathError{Op: op, Path: name, Err: err} }
	root, err := v.inode(rootIno)
	if err != nil {
		return fail(err)
	}
	in := root
	if name == "." {
		return in, nil
	}
	var stack []*inode // directories passed, for ".." in link targets
	parts := strings.Split(name, "/")
	hops := 0
	for len(parts) > 0 {
		p := parts[0]
		parts = parts[1:]
		switch p {
		case "", ".":
			continue
		case "..":
			if len(stack) > 0 {
				in, stack = stack[len(stack)-1], stack[:len(stack)-1]
			}
			continue
		}
		if !in.isDir() {
			return fail(syscall.ENOTDIR)
		}
		e, ok, err := v.lookupEnt(in, p)
		if err != nil {
			return fail(err)
		}
		if !ok {
			return fail(fs.ErrNotExist)
		}
		child, err := v.inode(e.ino)
		if err != nil {
			return fail(err)
		}
		if child.isLink() && (len(parts) > 0 || follow) {
			if hops++; hops > maxLinkHops {
				return fail(fmt.Errorf("more than %d symbolic links from %s: %w", maxLinkHops, name, syscall.ELOOP))
			}
			target, err := v.linkTarget(child)
			if err != nil {
				return fail(err)
			}
			if strings.HasPrefix(target, "/") {
				in, stack = root, nil
			}
			parts = append(strings.Split(target, "/"), parts...)
			continue
		}
		stack = append(stack, in)
		in = child
	}
	return in, nil
}

// Open opens the named file or directory, following symbolic links.
func (v *FS) Open(name string) (fs.File, error) {
	in, err := v.walk("open", name, true)
	if err != nil {
		return nil, err
	}
	return v.openInode(in, name)
}

// OpenInfo opens the file fi (from this volume) describes, without
// resolving its path again; name is for messages.
func (v *FS) OpenInfo(name string, fi fs.FileInfo) (fs.File, error) {
	info, ok := fi.Sys().(*FileInfo)
	if !ok || info.v != v {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	in := info.in
	if in.isLink() {
		return v.Open(name)
	}
	return v.openInode(in, name)
}

func (v *FS) openInode(in *inode, name string) (fs.File, error) {
	fi, err := v.info(in, path.Base(name))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &File{v: v, fi: fi, path: name}, nil
}

// Stat describes the named file, following symbolic links.
func (v *FS) Stat(name string) (fs.FileInfo, error) {
	return v.stat("stat", name, true)
}

// Lstat describes the named file without following a final link.
func (v *FS) Lstat(name string) (fs.FileInfo, error) {
	return v.stat("lstat", name, false)
}

func (v *FS) stat(op, name string, follow bool) (fs.FileInfo, error) {
	in, err := v.walk(op, name, follow)
	if err != nil {
		return nil, err
	}
	fi, err := v.info(in, path.Base(name))
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return fi, nil
}

// ReadLink returns the target of the named symbolic link.
func (v *FS) ReadLink(name string) (string, error) {
	in, err := v.walk("readlink", name, false)
	if err != nil {
		return "", err
	}
	if !in.isLink() {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	t, err := v.linkTarget(in)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return t, nil
}

// ReadDir lists the named directory sorted by name, without "." and "..".
// Listing reads no inodes where the volume records file types in its
// directory entries (every ext4 and most ext2/3): DirEntry.Info reads it.
func (v *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	in, err := v.walk("readdir", name, true)
	if err != nil {
		return nil, err
	}
	ents, err := v.dirEntries(in)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return ents, nil
}

func (v *FS) dirEntries(in *inode) ([]fs.DirEntry, error) {
	if !in.isDir() {
		return nil, syscall.ENOTDIR
	}
	ents, err := v.readDir(in)
	if err != nil {
		return nil, err
	}
	out := make([]fs.DirEntry, 0, len(ents))
	all := make([]dirEntry, len(ents)) // one allocation for the lot
	for i := range ents {
		if !validName(ents[i].name) {
			continue // a name io/fs cannot spell
		}
		all[i] = dirEntry{v: v, e: &ents[i]}
		out = append(out, &all[i])
	}
	return out, nil
}

// validName tells a name io/fs paths can hold.
func validName(n string) bool {
	return n != "" && !strings.ContainsAny(n, "/\x00")
}

// Xattrs returns the named file's extended attributes (not following a
// final link), named as Linux lists them.
func (v *FS) Xattrs(name string) (map[string][]byte, error) {
	in, err := v.walk("getxattr", name, false)
	if err != nil {
		return nil, err
	}
	x, err := v.xattrs(in)
	if err != nil {
		return nil, &fs.PathError{Op: "getxattr", Path: name, Err: err}
	}
	return x, nil
}

// LookupIn describes one name of a directory, starting from the
// directory's FileInfo (from this volume) instead of the root: listing a
// large directory with metadata then costs one search and one inode read
// per name. A final link is not followed.
func (v *FS) LookupIn(dir fs.FileInfo, name string) (fs.FileInfo, error) {
	info, ok := dir.Sys().(*FileInfo)
	if !ok || info.v != v || !info.in.isDir() {
		return nil, &fs.PathError{Op: "lookup", Path: name, Err: fs.ErrInvalid}
	}
	e, found, err := v.lookupEnt(info.in, name)
	if err == nil && !found {
		err = fs.ErrNotExist
	}
	var fi *FileInfo
	if err == nil {
		var in *inode
		if in, err = v.inode(e.ino); err == nil {
			fi, err = v.info(in, name)
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "lookup", Path: name, Err: err}
	}
	return fi, nil
}
