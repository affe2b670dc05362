package exfat

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"
)

// FileInfo describes a file or directory. It is its own Sys() value,
// offering the metadata the FileInfo interface has no room for.
type FileInfo struct {
	v *FS
	e *entry
}

var _ fs.FileInfo = (*FileInfo)(nil)

func (v *FS) info(e *entry) *FileInfo { return &FileInfo{v: v, e: e} }

// Name is the file's name as stored ("." for the root).
func (i *FileInfo) Name() string { return i.e.name }

// Size is the DataLength: the file's size (a directory's allocation).
func (i *FileInfo) Size() int64 { return i.e.dataLen }

// Mode gives directories 0755, read-only files 0444 and others 0644:
// exFAT keeps no owners or permissions.
func (i *FileInfo) Mode() fs.FileMode {
	switch {
	case i.e.isDir():
		return fs.ModeDir | 0o755
	case i.e.attrs&AttrReadOnly != 0:
		return 0o444
	}
	return 0o644
}

// ModTime is the last modification time (zero for the root, which has
// no entry to keep times in).
func (i *FileInfo) ModTime() time.Time { return i.e.mtime }

// IsDir reports whether the entry is a directory.
func (i *FileInfo) IsDir() bool { return i.e.isDir() }

// Sys returns the *FileInfo itself.
func (i *FileInfo) Sys() any { return i }

// FileID identifies the file within the volume: the volume offset of its
// File entry in 32-byte units (1 for the root). exFAT has no hard links,
// so no two names share one.
func (i *FileInfo) FileID() uint64 {
	if i.e == i.v.rootEntry {
		return 1
	}
	return uint64(i.e.off) / entrySize
}

// CreationTime is the create timestamp.
func (i *FileInfo) CreationTime() time.Time { return i.e.ctime }

// AccessTime is the last access timestamp (two-second steps: exFAT keeps
// no hundredths for it).
func (i *FileInfo) AccessTime() time.Time { return i.e.atime }

// WindowsAttributes gives the FileAttributes field (FILE_ATTRIBUTE_*
// values: read-only, hidden, system, directory, archive).
func (i *FileInfo) WindowsAttributes() uint32 { return uint32(i.e.attrs) }

// ValidDataLength is how many bytes of the file were written: the rest,
// up to Size, reads as zeros.
func (i *FileInfo) ValidDataLength() int64 { return i.e.validLen }

// Contiguous reports whether the file's clusters follow each other
// without a FAT chain (the NoFatChain flag).
func (i *FileInfo) Contiguous() bool { return i.e.noFatChain }

// File is an open file or directory. ReadAt may be called concurrently;
// Read, Seek and ReadDir share a position.
type File struct {
	v    *FS
	info *FileInfo
	runs []run

	mu     sync.Mutex
	pos    int64
	list   *listing // directories: what ReadDir hands out
	dirPos int
}

var (
	_ fs.ReadDirFile = (*File)(nil)
	_ io.ReaderAt    = (*File)(nil)
	_ io.Seeker      = (*File)(nil)
)

// openEntry opens e; its allocation is mapped now, so that a broken chain
// fails the open rather than a read.
func (v *FS) openEntry(name string, e *entry) (*File, error) {
	f := &File{v: v, info: v.info(e)}
	if e.isDir() {
		l, err := v.listingOf(e)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		f.list = l
		return f, nil
	}
	runs, err := v.chainRuns(e.firstCluster, e.dataLen, e.noFatChain, fmt.Sprintf("file %q", e.name), e.off)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	f.runs = runs
	return f, nil
}

// OpenInfo opens the file fi (a FileInfo of this volume) without
// resolving its path again; name is used in errors.
func (v *FS) OpenInfo(name string, fi fs.FileInfo) (fs.File, error) {
	i, ok := fi.Sys().(*FileInfo)
	if !ok || i.v != v {
		return v.Open(name)
	}
	return v.openEntry(name, i.e)
}

// Stat describes the open file.
func (f *File) Stat() (fs.FileInfo, error) { return f.info, nil }

// Size is the file's size.
func (f *File) Size() int64 { return f.info.e.dataLen }

// Close does nothing: an open file holds no resources.
func (f *File) Close() error { return nil }

// ReadAt reads from byte off of the file. Bytes past ValidDataLength are
// zeros, whatever their clusters hold.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	e := f.info.e
	if e.isDir() {
		return 0, &fs.PathError{Op: "read", Path: e.name, Err: errors.New("is a directory")}
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: e.name, Err: fs.ErrInvalid}
	}
	if off >= e.dataLen {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), e.dataLen-off))
	data := int(max(0, min(int64(n), e.validLen-off)))
	if err := f.v.readRuns(f.runs, p[:data], off); err != nil {
		return 0, fmt.Errorf("exfat: reading %q at byte %d: %w", e.name, off, err)
	}
	clear(p[data:n])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Read reads from the file's position.
func (f *File) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.ReadAt(p, f.pos)
	f.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek moves the position of Read.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += f.info.e.dataLen
	default:
		return 0, fs.ErrInvalid
	}
	if offset < 0 {
		return 0, fs.ErrInvalid
	}
	f.pos = offset
	return offset, nil
}

// ReadDir lists an open directory, sorted by name, n at a time (all when
// n <= 0).
func (f *File) ReadDir(n int) ([]fs.DirEntry, error) {
	if f.list == nil {
		return nil, &fs.PathError{Op: "readdir", Path: f.info.e.name, Err: errors.New("not a directory")}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rest := f.list.entries[f.dirPos:]
	if n > 0 {
		if len(rest) == 0 {
			return nil, io.EOF
		}
		rest = rest[:min(n, len(rest))]
	}
	f.dirPos += len(rest)
	return f.v.dirEntries(rest), nil
}

// Extent maps Len bytes of a file, from byte FileOff, to the volume at
// VolOff. Zero extents are allocated but lie past ValidDataLength: they
// read as zeros.
type Extent struct {
	FileOff, VolOff, Len int64
	Zero                 bool
}

// Extents maps the file's bytes onto the volume, in file order. The
// mapping is always exact: exFAT stores bytes as they read.
func (f *File) Extents() ([]Extent, bool, error) {
	e := f.info.e
	if e.isDir() {
		return nil, false, &fs.PathError{Op: "extents", Path: e.name, Err: errors.New("is a directory")}
	}
	var out []Extent
	for _, r := range f.runs {
		end := min(r.fileOff+r.length, e.dataLen)
		for start := r.fileOff; start < end; {
			// A run is cut where ValidDataLength falls inside it.
			stop, zero := end, start >= e.validLen
			if !zero && e.validLen < end {
				stop = e.validLen
			}
			out = append(out, Extent{FileOff: start, VolOff: r.volOff + start - r.fileOff, Len: stop - start, Zero: zero})
			start = stop
		}
	}
	return out, true, nil
}
