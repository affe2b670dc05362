package guest

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/diskfs/go-diskfs/backend"
)

// storage adapts an io.ReaderAt window to go-diskfs's backend.Storage. It is
// read-only: Writable fails, so any write path inside go-diskfs errors out
// instead of touching the disk. Reads past the window end are cut short with
// io.EOF, so go-diskfs never sees bytes beyond the partition.
type storage struct {
	r    io.ReaderAt
	size int64
	// inspect, when set, sees the bytes of every read before go-diskfs
	// does and may refuse them (see isoGuard).
	inspect func(p []byte, off int64) error

	mu  sync.Mutex // guards pos; go-diskfs mostly uses ReadAt
	pos int64
}

var _ backend.Storage = (*storage)(nil)

func newStorage(r io.ReaderAt, size int64) *storage {
	return &storage{r: r, size: size}
}

// ReadAt reads within the window.
func (s *storage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("guest: negative read offset")
	}
	if off >= s.size {
		return 0, io.EOF
	}
	short := false
	if rest := s.size - off; int64(len(p)) > rest {
		p = p[:rest]
		short = true
	}
	n, err := s.r.ReadAt(p, off)
	if err == nil && short {
		err = io.EOF
	}
	if err == io.EOF && n == len(p) && !short {
		err = nil
	}
	if err == nil && s.inspect != nil {
		if ierr := s.inspect(p, off); ierr != nil {
			return 0, ierr
		}
	}
	return n, err
}

// Read reads at the current position.
func (s *storage) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.ReadAt(p, s.pos)
	s.pos += int64(n)
	return n, err
}

// Seek moves the position used by Read.
func (s *storage) Seek(offset int64, whence int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.pos
	case io.SeekEnd:
		offset += s.size
	default:
		return s.pos, errors.New("guest: bad whence")
	}
	if offset < 0 {
		return s.pos, errors.New("guest: negative seek")
	}
	s.pos = offset
	return offset, nil
}

// Stat describes the window as a regular file of its size.
func (s *storage) Stat() (fs.FileInfo, error) { return storageInfo{s.size}, nil }

// Close does nothing: the caller owns the underlying reader.
func (s *storage) Close() error { return nil }

// Sys reports that there is no OS file (no ioctls on a virtual disk).
func (s *storage) Sys() (*os.File, error) { return nil, backend.ErrNotSuitable }

// Writable always fails: guest volumes are read-only.
func (s *storage) Writable() (backend.WritableFile, error) {
	return nil, backend.ErrIncorrectOpenMode
}

// Path is empty: the storage is not a file on the host.
func (s *storage) Path() string { return "" }

type storageInfo struct{ size int64 }

func (i storageInfo) Name() string       { return "disk" }
func (i storageInfo) Size() int64        { return i.size }
func (i storageInfo) Mode() fs.FileMode  { return 0o444 }
func (i storageInfo) ModTime() time.Time { return time.Time{} }
func (i storageInfo) IsDir() bool        { return false }
func (i storageInfo) Sys() any           { return nil }
