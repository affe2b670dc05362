package xfs

import (
	"io/fs"
	"path"
	"sort"
	"strings"
	"syscall"
)

var (
	_ fs.FS         = (*FS)(nil)
	_ fs.ReadDirFS  = (*FS)(nil)
	_ fs.StatFS     = (*FS)(nil)
	_ fs.ReadLinkFS = (*FS)(nil)
)

// walk resolves a slash-separated path from the root. Symbolic links in
// the middle are followed inside the volume (absolute targets from its
// root); the last one only when follow is set.
func (v *FS) walk(b *budget, op, name string, follow bool) (*inode, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	in, err := v.inode(b, v.sb.rootIno)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
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
			return nil, &fs.PathError{Op: op, Path: name, Err: errNotDir}
		}
		child, err := v.lookup(b, in, p)
		if err != nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: err}
		}
		if child.isSymlink() && (len(parts) > 0 || follow) {
			if hops++; hops > maxLinkHops {
				return nil, &fs.PathError{Op: op, Path: name, Err: kindErr(ErrLoop, -1, "more than %d symbolic links", maxLinkHops)}
			}
			target, err := v.readLink(b, child)
			if err != nil {
				return nil, &fs.PathError{Op: op, Path: name, Err: err}
			}
			if strings.HasPrefix(target, "/") {
				root, err := v.inode(b, v.sb.rootIno)
				if err != nil {
					return nil, &fs.PathError{Op: op, Path: name, Err: err}
				}
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

// errNotDir is what a path through a non-directory fails with.
var errNotDir error = syscall.ENOTDIR

// lookup finds a name in a directory by binary search of its listing.
func (v *FS) lookup(b *budget, dir *inode, name string) (*inode, error) {
	ents, err := v.readDir(b, dir)
	if err != nil {
		return nil, err
	}
	i := sort.Search(len(ents), func(i int) bool { return ents[i].name >= name })
	if i == len(ents) || ents[i].name != name {
		return nil, fs.ErrNotExist
	}
	return v.inode(b, ents[i].ino)
}

// Open opens the named file or directory, following symbolic links.
func (v *FS) Open(name string) (fs.File, error) {
	b := newBudget()
	in, err := v.walk(b, "open", name, true)
	if err != nil {
		return nil, err
	}
	return v.openInode(b, in, name)
}

// Stat describes the named file, following symbolic links.
func (v *FS) Stat(name string) (fs.FileInfo, error) {
	in, err := v.walk(newBudget(), "stat", name, true)
	if err != nil {
		return nil, err
	}
	return v.info(in, path.Base(name)), nil
}

// Lstat describes the named file without following a final link.
func (v *FS) Lstat(name string) (fs.FileInfo, error) {
	in, err := v.walk(newBudget(), "lstat", name, false)
	if err != nil {
		return nil, err
	}
	return v.info(in, path.Base(name)), nil
}

// ReadLink returns the target of the named symbolic link.
func (v *FS) ReadLink(name string) (string, error) {
	b := newBudget()
	in, err := v.walk(b, "readlink", name, false)
	if err != nil {
		return "", err
	}
	if !in.isSymlink() {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	t, err := v.readLink(b, in)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return t, nil
}

// ReadDir lists the named directory sorted by name.
func (v *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	b := newBudget()
	in, err := v.walk(b, "readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !in.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	ents, err := v.readDir(b, in)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	out := make([]fs.DirEntry, len(ents))
	for i, e := range ents {
		out[i] = &dirEntry{v: v, e: e}
	}
	return out, nil
}

// Xattrs returns the named file's extended attributes (not following a
// final link), named as Linux lists them.
func (v *FS) Xattrs(name string) (map[string][]byte, error) {
	b := newBudget()
	in, err := v.walk(b, "getxattr", name, false)
	if err != nil {
		return nil, err
	}
	return v.xattrs(b, in)
}

// LookupIn describes one name of a directory, starting from the
// directory's FileInfo (from this volume) instead of the root: listing a
// large directory with metadata then costs one inode read per name.
func (v *FS) LookupIn(dir fs.FileInfo, name string) (fs.FileInfo, error) {
	fi, ok := dir.Sys().(*fileInfo)
	if !ok || fi.v != v || !fi.in.isDir() {
		return nil, &fs.PathError{Op: "lookup", Path: name, Err: fs.ErrInvalid}
	}
	in, err := v.lookup(newBudget(), fi.in, name)
	if err != nil {
		return nil, &fs.PathError{Op: "lookup", Path: name, Err: err}
	}
	return v.info(in, name), nil
}

// dirEntry is one listed name; its type comes from the entry's file type
// when the volume records it, and Info reads the inode.
type dirEntry struct {
	v *FS
	e dirent
}

func (d *dirEntry) Name() string { return d.e.name }
func (d *dirEntry) IsDir() bool  { return d.Type().IsDir() }

func (d *dirEntry) Type() fs.FileMode {
	if m, ok := ftypeMode(d.e.ftype); ok && d.v.sb.ftype {
		return m
	}
	fi, err := d.Info()
	if err != nil {
		return fs.ModeIrregular
	}
	return fi.Mode().Type()
}

func (d *dirEntry) Info() (fs.FileInfo, error) {
	in, err := d.v.inode(newBudget(), d.e.ino)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: d.e.name, Err: err}
	}
	return d.v.info(in, d.e.name), nil
}

// Ino is the entry's inode number, known without reading the inode.
func (d *dirEntry) Ino() uint64 { return d.e.ino }

func (d *dirEntry) String() string { return fs.FormatDirEntry(d) }
