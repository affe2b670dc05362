package guest

import (
	"errors"
	"io"
	"io/fs"
	"slices"

	"github.com/ckptfs/ckptfs/internal/cursor"
)

// file is an open regular file of a go-diskfs volume. On FAT and ISO
// 9660, ReadAt reads the partition by the file's own map (data is set, f
// is nil). Elsewhere it seeks the go-diskfs file under the filesystem
// lock, so concurrent ReadAt calls on one file are safe; go-diskfs reads
// only the extents covering the request.
type file struct {
	d      *diskFS
	data   dataReader
	f      io.ReadSeeker
	closer io.Closer
	fi     *fileInfo
	cur    cursor.Cursor // for Read and Seek
	closed bool
}

var (
	_ io.ReaderAt  = (*file)(nil)
	_ io.Seeker    = (*file)(nil)
	_ ExtentMapper = (*file)(nil)
)

var errClosed = errors.New("file already closed")

// dataReader reads a file's content by its own map of the partition
// (fatData); p is already cut at the file size.
type dataReader interface {
	readAt(p []byte, off int64) (int, error)
	// byteExtents maps the first size bytes onto the partition; exact
	// is false when some bytes are not stored as they read.
	byteExtents(size int64) (exts []Extent, exact bool)
}

// Extents maps the file's bytes onto its volume (see ExtentMapper). A file
// read through go-diskfs has no map.
func (f *file) Extents() ([]Extent, bool, error) {
	if f.data == nil {
		return nil, false, nil
	}
	exts, exact := f.data.byteExtents(f.fi.size)
	return exts, exact, nil
}

// Stat describes the file.
func (f *file) Stat() (fs.FileInfo, error) { return f.fi, nil }

// Read reads from the current position.
func (f *file) Read(p []byte) (int, error) { return f.cur.Read(f, p) }

// Seek sets the position for Read.
func (f *file) Seek(offset int64, whence int) (int64, error) {
	return f.cur.Move(offset, whence, f.fi.size, f.fi.path)
}

// ReadAt reads len(p) bytes at off, or fewer with io.EOF at the end.
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if f.closed {
		return 0, &fs.PathError{Op: "read", Path: f.fi.path, Err: errClosed}
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.fi.path, Err: fs.ErrInvalid}
	}
	if off >= f.fi.size {
		return 0, io.EOF
	}
	want := p
	if rest := f.fi.size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	if f.data != nil {
		n, err := f.data.readAt(want, off)
		if err != nil {
			return n, &fs.PathError{Op: "read", Path: f.fi.path, Err: err}
		}
		if len(want) < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	n := 0
	err := f.d.call("read", func() error {
		if _, err := f.f.Seek(off, io.SeekStart); err != nil {
			return err
		}
		// go-diskfs may return short reads (one extent or cluster run at
		// a time); the loop is bounded because each pass makes progress or
		// stops.
		for n < len(want) {
			m, err := f.f.Read(want[n:])
			n += m
			if err == io.EOF || (err == nil && m == 0) {
				break
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return n, &fs.PathError{Op: "read", Path: f.fi.path, Err: asFormat(err)}
	}
	if n < len(want) {
		return n, &fs.PathError{Op: "read", Path: f.fi.path,
			Err: formatErr(off+int64(n), "file data ends %d bytes early", len(want)-n)}
	}
	if len(want) < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Close releases the file.
func (f *file) Close() error {
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.fi.path, Err: errClosed}
	}
	f.closed = true
	if f.closer == nil {
		return nil
	}
	var err error
	_ = f.d.call("close", func() error { err = f.closer.Close(); return nil })
	return err
}

// dirFile is an open directory; ReadDir pages through the sorted listing.
type dirFile struct {
	d      *diskFS
	fi     *fileInfo
	ents   []fs.DirEntry
	loaded bool
}

var _ fs.ReadDirFile = (*dirFile)(nil)

// Stat describes the directory.
func (f *dirFile) Stat() (fs.FileInfo, error) { return f.fi, nil }

// Read fails: directories have no byte content.
func (f *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: f.fi.path, Err: errors.New("is a directory")}
}

// Close does nothing.
func (f *dirFile) Close() error { return nil }

// ReadDir returns the next n entries (all when n <= 0), as fs.ReadDirFile
// specifies.
func (f *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !f.loaded {
		ents, err := f.d.listDir(f.fi)
		if err != nil {
			return nil, err
		}
		f.ents, f.loaded = slices.Clone(ents), true // the listing is shared with the cache
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
