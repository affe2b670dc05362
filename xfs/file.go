package xfs

import (
	"errors"
	"io"
	"io/fs"
	"time"

	"github.com/ckptfs/ckptfs/internal/cursor"
)

// fileInfo describes one inode under one name. Its Sys value is itself:
// the methods below give what io/fs cannot say.
type fileInfo struct {
	v    *FS
	in   *inode
	name string
}

func (v *FS) info(in *inode, name string) *fileInfo {
	if name == "." || name == "/" {
		name = "/"
	}
	return &fileInfo{v: v, in: in, name: name}
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.in.size }
func (fi *fileInfo) Mode() fs.FileMode  { return fi.in.fileMode() }
func (fi *fileInfo) ModTime() time.Time { return fi.in.mtime }
func (fi *fileInfo) IsDir() bool        { return fi.in.isDir() }
func (fi *fileInfo) Sys() any           { return fi }

// FileID is the inode number; hard links share it.
func (fi *fileInfo) FileID() uint64 { return fi.in.ino }

// LinkCount is the number of names the inode has.
func (fi *fileInfo) LinkCount() int { return int(fi.in.nlink) }

// POSIXAttributes gives the permission bits (07777), owner and group.
func (fi *fileInfo) POSIXAttributes() (perm, uid, gid uint32) {
	return uint32(fi.in.mode & 0o7777), fi.in.uid, fi.in.gid
}

// AccessTime is the last access time (atime).
func (fi *fileInfo) AccessTime() time.Time { return fi.in.atime }

// ChangeTime is the last inode change time (ctime).
func (fi *fileInfo) ChangeTime() time.Time { return fi.in.ctime }

// CreationTime is the birth time of a v5 inode; zero on v4 volumes.
func (fi *fileInfo) CreationTime() time.Time { return fi.in.crtime }

// Generation is the inode's generation number, changed when its number
// is reused for a new file.
func (fi *fileInfo) Generation() uint64 { return uint64(fi.in.gen) }

// DeviceNumber gives a device node's major and minor numbers, decoded
// from the 32-bit form XFS stores (major above bit 18) as Linux does.
func (fi *fileInfo) DeviceNumber() (major, minor uint32, ok bool) {
	switch fi.in.mode & 0o170000 {
	case 0o020000, 0o060000:
		return fi.in.rdev >> 18 & 0x1ff, fi.in.rdev & 0x3ffff, true
	}
	return 0, 0, false
}

// Xattrs reads the inode's extended attributes, named as Linux lists them.
func (fi *fileInfo) Xattrs() (map[string][]byte, error) {
	return fi.v.xattrs(newBudget(), fi.in)
}

// File is an open file or directory. Regular files read through ReadAt
// (safe for concurrent use) or Read and Seek.
type File struct {
	v     *FS
	in    *inode
	name  string
	exts  []bext        // data fork extents of a regular file
	cur   cursor.Cursor // for Read and Seek
	dir   []fs.DirEntry // remaining directory entries for ReadDir(n)
	dirOK bool
}

var (
	_ fs.ReadDirFile = (*File)(nil)
	_ io.ReaderAt    = (*File)(nil)
	_ io.Seeker      = (*File)(nil)
)

func (v *FS) openInode(b *budget, in *inode, name string) (*File, error) {
	f := &File{v: v, in: in, name: name}
	if in.isReg() && in.size > 0 {
		if in.flags&diflagRealtime != 0 {
			return nil, &fs.PathError{Op: "open", Path: name, Err: kindErr(ErrUnsupported, in.off, "inode %d: data in the realtime section", in.ino)}
		}
		exts, err := v.forkExtents(b, in, false)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		f.exts = exts
	}
	return f, nil
}

// Stat describes the file.
func (f *File) Stat() (fs.FileInfo, error) { return f.v.info(f.in, f.v.baseName(f.name)), nil }

func (v *FS) baseName(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[i+1:]
		}
	}
	return name
}

// Close releases nothing: files hold no resources.
func (f *File) Close() error { return nil }

// Read reads from the current offset.
func (f *File) Read(p []byte) (int, error) { return f.cur.Read(f, p) }

// Seek sets the offset for Read.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	return f.cur.Move(offset, whence, f.in.size, f.name)
}

// ReadAt reads file bytes at off; holes and unwritten extents read as
// zeros.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if !f.in.isReg() {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: errors.New("not a regular file")}
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrInvalid}
	}
	if off >= f.in.size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > f.in.size-off {
		p = p[:f.in.size-off]
	}
	bs := int64(f.v.sb.blockSize)
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		fb := uint64(pos / bs)
		i, mapped := find(f.exts, fb)
		if !mapped {
			end := int64(len(p))
			if i < len(f.exts) {
				end = min(end, int64(f.exts[i].off)*bs-off)
			}
			clear(p[done:end])
			done = int(end)
			continue
		}
		e := f.exts[i]
		n := min(int64(e.off+e.n)*bs-pos, int64(len(p)-done))
		if e.unwritten {
			clear(p[done : done+int(n)])
		} else {
			vol, err := f.v.sb.fsbToByte(e.blk)
			if err != nil {
				return done, &fs.PathError{Op: "read", Path: f.name, Err: formatErr(-1, "%v", err)}
			}
			vol += pos - int64(e.off)*bs
			if _, err := f.v.r.ReadAt(p[done:done+int(n)], vol); err != nil && err != io.EOF {
				return done, &fs.PathError{Op: "read", Path: f.name, Err: err}
			}
		}
		done += int(n)
	}
	if done < want {
		return done, io.EOF
	}
	return done, nil
}

// ReadDir lists the directory: all entries when n <= 0, else at most n
// per call, sorted by name.
func (f *File) ReadDir(n int) ([]fs.DirEntry, error) {
	if !f.in.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: f.name, Err: errNotDir}
	}
	if !f.dirOK {
		ents, err := f.v.readDir(newBudget(), f.in)
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: f.name, Err: err}
		}
		f.dir = make([]fs.DirEntry, len(ents))
		for i, e := range ents {
			f.dir[i] = &dirEntry{v: f.v, e: e}
		}
		f.dirOK = true
	}
	if n <= 0 {
		out := f.dir
		f.dir = nil
		return out, nil
	}
	if len(f.dir) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(f.dir))
	out := f.dir[:k]
	f.dir = f.dir[k:]
	return out, nil
}

// Extent maps FileOff..FileOff+Len of a file onto the volume at VolOff.
// Sparse extents (holes) have VolOff -1; Unwritten extents (preallocated)
// have space at VolOff; both read as zeros.
type Extent struct {
	FileOff, VolOff, Len int64
	Sparse               bool
	Unwritten            bool
}

// Extents maps the whole file (up to its size) onto the volume; exact is
// always true, as XFS keeps no compressed or inline file data.
func (f *File) Extents() (exts []Extent, exact bool, err error) {
	if !f.in.isReg() {
		return nil, false, &fs.PathError{Op: "extents", Path: f.name, Err: errors.New("not a regular file")}
	}
	bs := int64(f.v.sb.blockSize)
	size := f.in.size
	var out []Extent
	at := int64(0)
	hole := func(to int64) {
		if to > at {
			if k := len(out); k > 0 && out[k-1].Sparse {
				out[k-1].Len += to - at
			} else {
				out = append(out, Extent{FileOff: at, VolOff: -1, Len: to - at, Sparse: true})
			}
			at = to
		}
	}
	for _, e := range f.exts {
		start := int64(e.off) * bs
		if start >= size {
			break
		}
		end := min(start+int64(e.n)*bs, size)
		hole(start)
		vol, err := f.v.sb.fsbToByte(e.blk)
		if err != nil {
			return nil, false, &fs.PathError{Op: "extents", Path: f.name, Err: formatErr(-1, "%v", err)}
		}
		if e.unwritten {
			out = append(out, Extent{FileOff: start, VolOff: vol, Len: end - start, Unwritten: true})
			at = end
			continue
		}
		if k := len(out); k > 0 && !out[k-1].Sparse && !out[k-1].Unwritten && out[k-1].VolOff+out[k-1].Len == vol {
			out[k-1].Len += end - start
		} else {
			out = append(out, Extent{FileOff: start, VolOff: vol, Len: end - start})
		}
		at = end
	}
	hole(size)
	return out, true, nil
}
