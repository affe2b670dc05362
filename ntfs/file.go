package ntfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/ckptfs/ckptfs/internal/cursor"
)

// File is an open file, directory or named stream of a Volume. Besides
// fs.File it implements io.ReaderAt and io.Seeker (for data) and
// fs.ReadDirFile (for directories). ReadAt may be called concurrently.
type File struct {
	v    *Volume
	n    *node
	name string // base name, for Stat
	s    *stream
	bad  error // non-nil when the data cannot be decoded (ErrUnsupported)

	cur    cursor.Cursor // for Read and Seek
	mu     sync.Mutex    // guards the directory cursor
	dir    []fs.DirEntry
	dirPos int
	listed bool
}

var (
	_ fs.ReadDirFile = (*File)(nil)
	_ io.ReaderAt    = (*File)(nil)
	_ io.Seeker      = (*File)(nil)
)

func (v *Volume) openNode(n *node, name, streamName string) (*File, error) {
	f := &File{v: v, n: n, name: name}
	if n.info.Dir && streamName == "" {
		return f, nil
	}
	s, err := n.stream(streamName)
	switch {
	case errors.Is(err, fs.ErrNotExist) && streamName == "":
		// No unnamed $DATA (some reparse points): an empty file.
		s = &stream{isRes: true}
	case err != nil:
		return nil, err
	}
	f.s = s
	if streamName != "" {
		return f, nil
	}
	if r := n.info.Reparse; r != nil && r.Tag == TagWOF {
		w, err := n.newWofReader(s.size)
		if err != nil {
			f.bad = err
			return f, nil
		}
		// Reads decode the WofCompressedData stream; the unnamed data is
		// a hole holding only the size.
		f.s = &stream{size: s.size, wof: w}
	}
	f.bad = n.dataError()
	return f, nil
}

// dataError says why the unnamed data of n cannot be read, or nil.
func (n *node) dataError() error {
	fi := n.info
	if fi.Reparse != nil && fi.Reparse.Tag == TagWOF {
		if err := fi.Reparse.wofError(fi.Ref.Record); err != nil {
			return err
		}
	}
	if fi.Reparse != nil && fi.Reparse.Tag == TagDedup {
		return fmt.Errorf("record %d: %w", fi.Ref.Record, ErrDeduplicated)
	}
	if fi.Attributes&AttrEncrypted != 0 {
		return kindErr(ErrUnsupported, -1, "record %d: EFS-encrypted", fi.Ref.Record)
	}
	return nil
}

// Stat returns the file's fs.FileInfo; Sys() is a *FileRecordInfo.
func (f *File) Stat() (fs.FileInfo, error) {
	fi := &fileInfo{name: f.name, rec: f.n.info}
	if f.s != nil && f.s.size != fi.rec.Size {
		// A named stream: report its size.
		c := *fi.rec
		c.Size = f.s.size
		fi.rec = &c
	}
	return fi, nil
}

// Info returns the MFT-level description of the file.
func (f *File) Info() *FileRecordInfo { return f.n.info }

// Size returns the length of the open data stream (0 for a directory).
func (f *File) Size() int64 {
	if f.s == nil {
		return 0
	}
	return f.s.size
}

// ReadAt reads the file's data at off, as io.ReaderAt.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if f.s == nil {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: errIsDir}
	}
	if f.bad != nil {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: f.bad}
	}
	n, err := f.s.ReadAt(p, off)
	if err != nil && err != io.EOF {
		err = &fs.PathError{Op: "read", Path: f.name, Err: err}
	}
	return n, err
}

var errIsDir = errors.New("is a directory")

// Read reads from the current position.
func (f *File) Read(p []byte) (int, error) { return f.cur.Read(f, p) }

// Seek sets the position for the next Read, as io.Seeker.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	return f.cur.Move(offset, whence, f.Size(), f.name)
}

// Close releases nothing: files hold no resources beyond memory.
func (f *File) Close() error { return nil }

// ReadDir reads the directory's entries sorted by name, as fs.ReadDirFile.
func (f *File) ReadDir(count int) ([]fs.DirEntry, error) {
	if !f.n.info.Dir || f.s != nil {
		return nil, &fs.PathError{Op: "readdir", Path: f.name, Err: errNotDir}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.listed {
		l, err := f.v.listingOf(f.n)
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: f.name, Err: err}
		}
		f.dir, f.listed = l.dirEntries(), true
	}
	rest := f.dir[f.dirPos:]
	if count <= 0 {
		f.dirPos = len(f.dir)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if count > len(rest) {
		count = len(rest)
	}
	f.dirPos += count
	return rest[:count], nil
}
