package ext

import (
	"errors"
	"fmt"
	"io"
)

// Sentinel errors. Every error this package returns for a bad volume wraps
// one of them, so callers test with errors.Is.
var (
	// ErrFormat means the bytes are not a valid ext2/3/4 structure.
	ErrFormat = errors.New("ext: invalid format")
	// ErrUnsupported means a valid feature this package does not read
	// (compression, encrypted files, attribute values in their own
	// inodes) or a structure larger than it reads. It matches
	// errors.ErrUnsupported too.
	ErrUnsupported = fmt.Errorf("ext: unsupported feature: %w", errors.ErrUnsupported)
)

// FormatError reports a fault at a byte offset of the volume. It wraps
// ErrFormat.
type FormatError struct {
	Off  int64  // byte offset in the volume where the fault lies
	What string // what is wrong there
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("ext: %s at byte 0x%x", e.What, e.Off)
}

// Unwrap lets errors.Is find ErrFormat.
func (e *FormatError) Unwrap() error { return ErrFormat }

func formatErr(off int64, format string, args ...any) error {
	return &FormatError{Off: off, What: fmt.Sprintf(format, args...)}
}

// unsupported wraps ErrUnsupported with what is not read.
func unsupported(format string, args ...any) error {
	return fmt.Errorf("ext: "+format+": %w", append(args, ErrUnsupported)...)
}

// readFull reads len(p) bytes at off, inside a volume of size bytes.
func readFull(r io.ReaderAt, size int64, p []byte, off int64) error {
	if off < 0 || off > size || int64(len(p)) > size-off {
		return io.ErrUnexpectedEOF
	}
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
