package ext

import (
	"errors"
	"io"
	"io/fs"
	"sync"
	"time"

	"github.com/ckptfs/ckptfs/internal/cursor"
)

// FileInfo describes one inode under one name. It is its own Sys() value,
// with the metadata io/fs cannot carry.
type FileInfo struct {
	v    *FS
	in   *inode
	name string
	mode fs.FileMode
}

var _ fs.FileInfo = (*FileInfo)(nil)

// info describes inode in under name.
func (v *FS) info(in *inode, name string) (*FileInfo, error) {
	mode, ok := fileMode(in.mode())
	if !ok {
		return nil, formatErr(in.off, "inode %d has mode %#o", in.ino, in.mode())
	}
	// A file maps at most 2^32 blocks (logical block numbers are 32 bits).
	if size := in.size(); size < 0 || size > v.geo.blockSize<<32 {
		return nil, formatErr(in.off, "inode %d: size %d past the largest file of %d-byte blocks", in.ino, size, v.geo.blockSize)
	}
	return &FileInfo{v: v, in: in, name: name, mode: mode}, nil
}

// Name is the base name the file was found under.
func (fi *FileInfo) Name() string { return fi.name }

// Size is i_size, as the kernel shows it: a file's length, a link
// target's, a directory's blocks; 0 for special files.
func (fi *FileInfo) Size() int64 {
	if fi.mode&(fs.ModeDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0 {
		return 0
	}
	return max(fi.in.size(), 0)
}

// Mode returns the type and permission bits.
func (fi *FileInfo) Mode() fs.FileMode { return fi.mode }

// ModTime is the modification time, with nanoseconds where the inode has
// them.
func (fi *FileInfo) ModTime() time.Time { return fi.in.stamp(inodeMTime, inodeMTimeX) }

// IsDir reports a directory.
func (fi *FileInfo) IsDir() bool { return fi.mode.IsDir() }

// Sys returns fi itself.
func (fi *FileInfo) Sys() any { return fi }

// FileID is the inode number: hard links share it.
func (fi *FileInfo) FileID() uint64 { return uint64(fi.in.ino) }

// Generation is i_generation: a file seen in two states of a volume with
// the same inode number and generation is the same file.
func (fi *FileInfo) Generation() uint64 { return uint64(fi.in.u32(inodeGeneration)) }

// LinkCount is i_links_count. A directory of more than 65,000
// subdirectories (dir_nlink) stores 1, as the kernel shows it.
func (fi *FileInfo) LinkCount() int { return int(fi.in.u16(inodeLinks)) }

// POSIXAttributes returns the permission bits (with set-id and sticky)
// and the owner.
func (fi *FileInfo) POSIXAttributes() (perm, uid, gid uint32) {
	in := fi.in
	perm = uint32(in.mode()) & 0o7777
	uid = uint32(in.u16(inodeUIDLo)) | uint32(in.u16(inodeUIDHi))<<16
	gid = uint32(in.u16(inodeGIDLo)) | uint32(in.u16(inodeGIDHi))<<16
	return perm, uid, gid
}

// AccessTime is the last access time.
func (fi *FileInfo) AccessTime() time.Time { return fi.in.stamp(inodeATime, inodeATimeX) }

// ChangeTime is the last inode change time.
func (fi *FileInfo) ChangeTime() time.Time { return fi.in.stamp(inodeCTime, inodeCTimeX) }

// CreationTime is the birth time, zero when the inode has no room for it
// (128-byte inodes).
func (fi *FileInfo) CreationTime() time.Time {
	if inodeCrTime+4 > fi.in.extraEnd() {
		return time.Time{}
	}
	return fi.in.stamp(inodeCrTime, inodeCrTimeX)
}

// DeviceNumber gives the major and minor numbers of a device node, kept
// in i_block in the old 8:8 form or the new 12:20 one.
func (fi *FileInfo) DeviceNumber() (major, minor uint32, ok bool) {
	if fi.mode&fs.ModeDevice == 0 {
		return 0, 0, false
	}
	old, nw := fi.in.u32(inodeBlock), fi.in.u32(inodeBlock+4)
	if old != 0 {
		return (old >> 8) & 0xff, old & 0xff, true
	}
	return (nw & 0xfff00) >> 8, (nw & 0xff) | ((nw >> 12) & 0xfff00), true
}

// Xattrs reads the file's extended attributes.
func (fi *FileInfo) Xattrs() (map[string][]byte, error) { return fi.v.xattrs(fi.in) }

// File is an open file or directory. Regular files read through ReadAt
// (safe for concurrent use) or Read and Seek; the map of their blocks is
// read on the first read.
type File struct {
	v    *FS
	fi   *FileInfo
	path string

	once sync.Once
	data *content
	err  error

	cur    cursor.Cursor // for Read and Seek
	mu     sync.Mutex    // guards ents
	ents   []fs.DirEntry
	listed bool
	closed bool
}

var (
	_ io.ReaderAt    = (*File)(nil)
	_ io.Seeker      = (*File)(nil)
	_ fs.ReadDirFile = (*File)(nil)
)

var errClosed = errors.New("file already closed")

// Stat describes the file.
func (f *File) Stat() (fs.FileInfo, error) { return f.fi, nil }

// Close marks the file closed; it holds no resources.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.path, Err: errClosed}
	}
	f.closed = true
	return nil
}

// content maps the file's blocks, once.
func (f *File) content() (*content, error) {
	f.once.Do(func() {
		if !f.fi.mode.IsRegular() && f.fi.mode&fs.ModeSymlink == 0 {
			f.data = &content{v: f.v, isInl: true} // nothing to read
			return
		}
		f.data, f.err = f.v.contentOf(f.fi.in, f.fi.Size())
	})
	return f.data, f.err
}

// ReadAt reads file bytes at off; holes and unwritten extents read as
// zeros.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if f.fi.IsDir() {
		return 0, &fs.PathError{Op: "read", Path: f.path, Err: errors.New("is a directory")}
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.path, Err: fs.ErrInvalid}
	}
	size := f.fi.Size()
	if off >= size {
		return 0, io.EOF
	}
	c, err := f.content()
	if err != nil {
		return 0, &fs.PathError{Op: "read", Path: f.path, Err: err}
	}
	want := p
	if rest := size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	n, err := c.readAt(want, off)
	if err != nil {
		return n, &fs.PathError{Op: "read", Path: f.path, Err: err}
	}
	if len(want) < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Read reads from the current offset.
func (f *File) Read(p []byte) (int, error) { return f.cur.Read(f, p) }

// Seek sets the offset for Read.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	return f.cur.Move(offset, whence, f.fi.Size(), f.path)
}

// Extents maps the file (up to its size) onto the volume; exact is false
// for inline data, which lies inside the inode.
func (f *File) Extents() (exts []Extent, exact bool, err error) {
	c, err := f.content()
	if err != nil {
		return nil, false, err
	}
	exts, exact = c.byteExtents(f.fi.Size())
	return exts, exact, nil
}

// ReadDir lists the directory: all entries when n <= 0, else at most n
// per call, sorted by name.
func (f *File) ReadDir(n int) ([]fs.DirEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.listed {
		if !f.fi.IsDir() {
			return nil, &fs.PathError{Op: "readdir", Path: f.path, Err: errors.New("not a directory")}
		}
		ents, err := f.v.dirEntries(f.fi.in)
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: f.path, Err: err}
		}
		f.ents, f.listed = ents, true
	}
	if n <= 0 {
		out := f.ents
		f.ents = nil
		return out, nil
	}
	if len(f.ents) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(f.ents))
	out := f.ents[:n]
	f.ents = f.ents[n:]
	return out, nil
}

// dirEntry is one listed name; its type comes from the entry's file type
// when the volume records it, and Info reads the inode.
type dirEntry struct {
	v *FS
	e *dirent
}

// ftypes maps a directory entry's file type to the mode type.
var ftypes = [8]fs.FileMode{0, 0, fs.ModeDir, fs.ModeDevice | fs.ModeCharDevice, fs.ModeDevice, fs.ModeNamedPipe, fs.ModeSocket, fs.ModeSymlink}

func (d *dirEntry) Name() string { return d.e.name }
func (d *dirEntry) IsDir() bool  { return d.Type().IsDir() }

// Type is the entry's file type, from the entry itself when it records
// one, else from the inode.
func (d *dirEntry) Type() fs.FileMode {
	if d.e.ftype != 0 {
		return ftypes[d.e.ftype]
	}
	fi, err := d.Info()
	if err != nil {
		return fs.ModeIrregular
	}
	return fi.Mode().Type()
}

// Info reads the entry's inode.
func (d *dirEntry) Info() (fs.FileInfo, error) {
	in, err := d.v.inode(d.e.ino)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: d.e.name, Err: err}
	}
	fi, err := d.v.info(in, d.e.name)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: d.e.name, Err: err}
	}
	return fi, nil
}

// FileID is the entry's inode number, known without reading the inode.
func (d *dirEntry) FileID() uint64 { return uint64(d.e.ino) }

func (d *dirEntry) String() string { return fs.FormatDirEntry(d) }
