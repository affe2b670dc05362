package btrfs

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// maxDirEntries bounds the entries one directory listing may return.
const maxDirEntries = 1 << 22

// FS is a read-only io/fs.FS over one subvolume of a Volume, with the
// subvolumes mounted inside it shown as directories where they are
// linked, as the kernel shows them. Stat does not follow symbolic links
// (it is Lstat); ReadLink gives their targets.
type FS struct {
	v   *Volume
	top ref
}

// ref names one inode: a subvolume and an inode number in it. stub marks
// the empty directory the kernel shows for a nested subvolume a snapshot
// did not take along.
type ref struct {
	sv   *subvol
	ino  uint64
	stub bool
}

var (
	_ fs.FS         = (*FS)(nil)
	_ fs.ReadDirFS  = (*FS)(nil)
	_ fs.StatFS     = (*FS)(nil)
	_ fs.ReadLinkFS = (*FS)(nil)
)

// Open opens the btrfs filesystem on r (of size bytes) and returns its
// default subvolume, as the kernel mounts it without a subvol option.
func Open(r io.ReaderAt, size int64) (*FS, error) {
	v, err := NewVolume(r, size)
	if err != nil {
		return nil, err
	}
	return v.Subvolume(v.DefaultSubvolume())
}

// Subvolume returns the tree of subvolume id (5 is the top level, which
// holds every other subvolume where it was created).
func (v *Volume) Subvolume(id uint64) (*FS, error) {
	sv, err := v.subvol(id)
	if err != nil {
		return nil, err
	}
	return &FS{v: v, top: ref{sv: sv, ino: sv.dirID}}, nil
}

// Volume returns the volume the FS belongs to.
func (f *FS) Volume() *Volume { return f.v }

// SubvolumeID returns the id of the subvolume at the FS's root.
func (f *FS) SubvolumeID() uint64 { return f.top.sv.id }

// POSIXLinks reports that link targets are POSIX paths.
func (f *FS) POSIXLinks() bool { return true }

// nameHash is btrfs_name_hash: the key offset of a DIR_ITEM or
// XATTR_ITEM, the raw crc32c of the name seeded with ~1.
func nameHash(name []byte) uint64 {
	return uint64(^crc32.Update(1, castagnoli, name))
}

// resolve finds the inode at a slash-separated path, without following
// symbolic links.
func (f *FS) resolve(op, name string) (ref, inode, error) {
	if !fs.ValidPath(name) {
		return ref{}, inode{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	cur := f.top
	in, err := f.v.stat(cur)
	if err != nil {
		return ref{}, inode{}, &fs.PathError{Op: op, Path: name, Err: err}
	}
	if name == "." {
		return cur, in, nil
	}
	for _, part := range strings.Split(name, "/") {
		if in.mode&sIFMT != sIFDIR {
			return ref{}, inode{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		if cur, in, err = f.v.lookupName(cur, []byte(part)); err != nil {
			if errors.Is(err, errNotFound) {
				err = fs.ErrNotExist
			}
			return ref{}, inode{}, &fs.PathError{Op: op, Path: name, Err: err}
		}
	}
	return cur, in, nil
}

// lookupName finds name in directory dir by its hash.
func (v *Volume) lookupName(dir ref, name []byte) (ref, inode, error) {
	if dir.stub {
		return ref{}, inode{}, errNotFound
	}
	d, err := v.lookup(dir.sv.tree, key{dir.ino, typDirItem, nameHash(name)})
	if err != nil {
		return ref{}, inode{}, err
	}
	var hit *dirEntry
	parseDirItems(d, func(e dirEntry) bool {
		if bytes.Equal(e.name, name) {
			hit = &e
			return false
		}
		return true
	})
	if hit == nil {
		return ref{}, inode{}, errNotFound
	}
	return v.child(dir, *hit)
}

// child resolves a directory entry and reads its inode. A directory must
// name dir as its only parent (a subvolume: its only back reference), as
// the kernel keeps it: so no path can lead back into itself, and a
// damaged or hostile tree cannot make a walk of the FS endless.
func (v *Volume) child(dir ref, e dirEntry) (ref, inode, error) {
	r, err := v.entryRef(dir, e)
	if err != nil {
		return ref{}, inode{}, err
	}
	in, err := v.stat(r)
	if err != nil {
		return ref{}, inode{}, err
	}
	if in.mode&sIFMT == sIFDIR && !r.stub {
		if err := v.checkParent(dir, r); err != nil {
			return ref{}, inode{}, err
		}
	}
	return r, in, nil
}

// typRootBackref keys a subvolume's link to its parent in the root tree.
const typRootBackref = 144

// maxParents bounds the back references counted for one directory.
const maxParents = 16

func (v *Volume) checkParent(dir, r ref) error {
	var t root
	var k key
	var want uint64
	if r.sv != dir.sv {
		t, k, want = v.root, key{r.sv.id, typRootBackref, 0}, dir.sv.id
	} else {
		t, k, want = r.sv.tree, key{r.ino, typInodeRef, 0}, dir.ino
	}
	var parents []uint64
	hi := k
	hi.offset = ^uint64(0)
	err := v.walk(t, k, hi, func(k key, _ []byte) error {
		if parents = append(parents, k.offset); len(parents) > maxParents {
			return errStop
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(parents) != 1 || parents[0] != want {
		return kindErr(ErrLoop, -1, "subvolume %d: directory %d (subvolume %d) has parents %v, not only %d",
			dir.sv.id, r.ino, r.sv.id, parents, want)
	}
	return nil
}

// entryRef turns a directory entry into the inode it names, crossing into
// a subvolume when the entry links one.
func (v *Volume) entryRef(dir ref, e dirEntry) (ref, error) {
	switch e.location.typ {
	case typInodeItem:
		return ref{sv: dir.sv, ino: e.location.objectid}, nil
	case typRootItem:
		ok, err := v.childSubvol(dir.sv.id, e.location.objectid, dir.ino, e.name)
		if err != nil {
			return ref{}, err
		}
		if !ok {
			return ref{sv: dir.sv, ino: emptySubvolDirID, stub: true}, nil
		}
		sv, err := v.subvol(e.location.objectid)
		if err != nil {
			return ref{}, err
		}
		return ref{sv: sv, ino: sv.dirID}, nil
	}
	return ref{}, formatErr(-1, "directory entry %q points at item type %d", e.name, e.location.typ)
}

// stat reads the inode item of r.
func (v *Volume) stat(r ref) (inode, error) {
	if r.stub {
		// The kernel's stand-in: an empty directory.
		return inode{mode: sIFDIR | 0o755, nlink: 1}, nil
	}
	d, err := v.lookup(r.sv.tree, key{r.ino, typInodeItem, 0})
	if errors.Is(err, errNotFound) {
		return inode{}, formatErr(-1, "subvolume %d: inode %d has no inode item", r.sv.id, r.ino)
	}
	if err != nil {
		return inode{}, err
	}
	in, ok := parseInode(d)
	if !ok {
		return inode{}, formatErr(-1, "subvolume %d: inode item %d is %d bytes", r.sv.id, r.ino, len(d))
	}
	return in, nil
}

// Stat describes the named file without following a final symbolic link.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	r, in, err := f.resolve("stat", name)
	if err != nil {
		return nil, err
	}
	return &FileInfo{name: path.Base(name), r: r, in: in, v: f.v}, nil
}

// LookupIn finds name in the directory dir (a FileInfo of this volume)
// without resolving dirPath again from the root: Lstat of the joined path
// gives the same answer.
func (f *FS) LookupIn(dirPath string, dir fs.FileInfo, name string) (fs.FileInfo, error) {
	d, ok := dir.Sys().(*FileInfo)
	if !ok || d.v != f.v || name == "." || name == ".." || strings.Contains(name, "/") {
		return f.Stat(path.Join(dirPath, name))
	}
	if !d.IsDir() {
		return nil, &fs.PathError{Op: "lookup", Path: path.Join(dirPath, name), Err: fs.ErrNotExist}
	}
	r, in, err := f.v.lookupName(d.r, []byte(name))
	if err == nil {
		return &FileInfo{name: name, r: r, in: in, v: f.v}, nil
	}
	if errors.Is(err, errNotFound) {
		err = fs.ErrNotExist
	}
	return nil, &fs.PathError{Op: "lookup", Path: path.Join(dirPath, name), Err: err}
}

// Lstat is Stat: neither follows symbolic links.
func (f *FS) Lstat(name string) (fs.FileInfo, error) { return f.Stat(name) }

// ReadLink returns the target of a symbolic link.
func (f *FS) ReadLink(name string) (string, error) {
	r, in, err := f.resolve("readlink", name)
	if err != nil {
		return "", err
	}
	if in.mode&sIFMT != sIFLNK {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	if in.size > 4096 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: formatErr(-1, "link target of %d bytes", in.size)}
	}
	d := &fileData{v: f.v, r: r, in: in}
	buf := make([]byte, in.size)
	if _, err := d.ReadAt(buf, 0); err != nil && err != io.EOF {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return string(buf), nil
}

// ReadDir lists a directory sorted by name.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	r, _, err := f.resolve("readdir", name)
	if err != nil {
		return nil, err
	}
	ents, err := f.v.readDir(r)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return ents, nil
}

func (v *Volume) readDir(dir ref) ([]fs.DirEntry, error) {
	in, err := v.stat(dir)
	if err != nil {
		return nil, err
	}
	if in.mode&sIFMT != sIFDIR {
		return nil, fmt.Errorf("not a directory: %w", fs.ErrInvalid)
	}
	if dir.stub {
		return nil, nil
	}
	var out []fs.DirEntry
	var bad error
	err = v.walk(dir.sv.tree, key{dir.ino, typDirIndex, 0}, key{dir.ino, typDirIndex, ^uint64(0)}, func(k key, d []byte) error {
		if len(out) >= maxDirEntries {
			return formatErr(-1, "directory %d holds more than %d entries", dir.ino, maxDirEntries)
		}
		parseDirItems(d, func(e dirEntry) bool {
			name := string(e.name)
			if name == "." || name == ".." || strings.Contains(name, "/") {
				bad = formatErr(-1, "directory %d: entry name %q", dir.ino, name)
				return false
			}
			out = append(out, &dirEnt{v: v, dir: dir, e: e, name: name})
			return false // a DIR_INDEX item holds one entry
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if bad != nil {
		return nil, bad
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// dirEnt is one listed entry; its inode is read when Info is called.
type dirEnt struct {
	v    *Volume
	dir  ref
	e    dirEntry
	name string
}

func (d *dirEnt) Name() string { return d.name }
func (d *dirEnt) IsDir() bool  { return d.Type().IsDir() }

func (d *dirEnt) Type() fs.FileMode {
	if d.e.location.typ == typRootItem {
		return fs.ModeDir
	}
	switch d.e.typ {
	case ftDir:
		return fs.ModeDir
	case ftChr:
		return fs.ModeDevice | fs.ModeCharDevice
	case ftBlk:
		return fs.ModeDevice
	case ftFifo:
		return fs.ModeNamedPipe
	case ftSock:
		return fs.ModeSocket
	case ftSymlink:
		return fs.ModeSymlink
	}
	return 0
}

func (d *dirEnt) Info() (fs.FileInfo, error) {
	r, in, err := d.v.child(d.dir, d.e)
	if err != nil {
		return nil, err
	}
	return &FileInfo{name: d.name, r: r, in: in, v: d.v}, nil
}

// Open opens the named file or directory.
func (f *FS) Open(name string) (fs.File, error) {
	r, in, err := f.resolve("open", name)
	if err != nil {
		return nil, err
	}
	fi := &FileInfo{name: path.Base(name), r: r, in: in, v: f.v}
	if in.mode&sIFMT == sIFDIR {
		return &dirFile{fi: fi, v: f.v, path: name}, nil
	}
	return &File{fi: fi, data: &fileData{v: f.v, r: r, in: in}, path: name}, nil
}

// dirFile is an open directory.
type dirFile struct {
	fi   *FileInfo
	v    *Volume
	path string
	ents []fs.DirEntry
	read bool
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.fi, nil }
func (d *dirFile) Close() error               { return nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.path, Err: fs.ErrInvalid}
}

// ReadDir lists the directory in name order, n entries at a time.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		ents, err := d.v.readDir(d.fi.r)
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: d.path, Err: err}
		}
		d.ents, d.read = ents, true
	}
	if n <= 0 {
		out := d.ents
		d.ents = nil
		return out, nil
	}
	if len(d.ents) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.ents))
	out := d.ents[:n]
	d.ents = d.ents[n:]
	return out, nil
}
