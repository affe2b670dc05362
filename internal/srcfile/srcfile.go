// Package srcfile opens a source file (a disk image, a VM configuration)
// for reading the way a forensic reader must: only regular files and block
// devices are accepted, and the check is made before anything could block.
// A FIFO named x.vhdx would otherwise hang open(2) until a writer comes,
// deaf to signals; a character device such as /dev/zero or /dev/urandom
// would read forever. Where the owner allows it the file is opened with
// O_NOATIME, so examining a copy does not change its access time.
package srcfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotFile means the name is not a regular file or block device (a
// folder, FIFO, socket, character device). Callers wrap it with their own
// format sentinel: such a source is never a disk image.
var ErrNotFile = errors.New("not a regular file or block device")

// Open opens name read-only after checking what it is, and returns the
// file, its status (after the open, so a swap between check and open is
// seen) and its size (block devices report 0 in their status: the size is
// taken by seeking to the end).
func Open(name string) (*os.File, fs.FileInfo, int64, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, nil, 0, err
	}
	if err := Usable(name, st.Mode()); err != nil {
		return nil, nil, 0, err
	}
	f, err := openRead(name)
	if err != nil {
		return nil, nil, 0, err
	}
	st, err = f.Stat()
	if err == nil {
		err = Usable(name, st.Mode())
	}
	if err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	size := st.Size()
	if st.Mode()&fs.ModeDevice != 0 {
		if size, err = f.Seek(0, io.SeekEnd); err != nil {
			f.Close()
			return nil, nil, 0, fmt.Errorf("%s: size of the block device: %w", name, err)
		}
	}
	return f, st, size, nil
}

// Usable says whether a file of this mode may be read as a source: a
// regular file or a block device. The error names the file and its kind.
func Usable(name string, m fs.FileMode) error {
	if m.IsRegular() || m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w (it is %s)", name, ErrNotFile, Kind(m))
}

// Kind names the type of a file mode for messages.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "a regular file"
}
