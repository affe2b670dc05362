// Package cursor keeps the read position of a file that is an
// io.ReaderAt, so that every reader package (ntfs, ext, xfs, btrfs, guest's
// FAT and ISO files) gives Read and Seek the same meaning as *os.File:
// Seek past the end is allowed and reads there give io.EOF, a negative
// position or an unknown whence is fs.ErrInvalid and leaves the position
// where it was, and Read returns io.EOF only with no bytes.
package cursor

import (
	"io"
	"io/fs"
	"sync"
)

// Cursor is a position in a file. The zero value is at the start. It is
// safe for concurrent use; Read calls are serialized, as on *os.File.
type Cursor struct {
	mu  sync.Mutex
	pos int64
}

// Read reads from r at the position and moves past what it read. path
// names the file in errors; r's own errors are returned as they are.
func (c *Cursor) Read(r io.ReaderAt, p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := r.ReadAt(p, c.pos)
	c.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Move sets the position as io.Seeker's Seek does, for a file of size
// bytes. (Not named Seek: its signature is not io.Seeker's.)
func (c *Cursor) Move(offset int64, whence int, size int64, path string) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += c.pos
	case io.SeekEnd:
		offset += size
	default:
		return c.pos, &fs.PathError{Op: "seek", Path: path, Err: fs.ErrInvalid}
	}
	if offset < 0 {
		return c.pos, &fs.PathError{Op: "seek", Path: path, Err: fs.ErrInvalid}
	}
	c.pos = offset
	return offset, nil
}
