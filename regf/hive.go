package regf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf16"

	"github.com/ckptfs/ckptfs/internal/srcfile"
)

const (
	baseBlockSize = 4096
	// maxCell bounds one cell: a big value's segments are 16,344 bytes
	// and a list of 2^20 subkeys is 8 MiB; anything larger is damage.
	maxCell = 16 << 20
	// maxDepth bounds the keys a path lookup or walk goes through.
	maxDepth = 512
)

// Hive is an open registry hive file.
type Hive struct {
	r     io.ReaderAt
	size  int64
	bins  int64  // bytes of hive bins after the base block
	root  uint32 // cell offset of the root key
	minor uint32

	// Dirty is true when the base block's two sequence numbers differ: the
	// hive was being written when it was copied (a crash, or a checkpoint
	// of a running system), and its transaction logs may hold changes
	// this package does not apply.
	Dirty bool
	// Modified is the base block's last-written time.
	Modified time.Time

	closer io.Closer
}

// NewHive opens the hive held in the first size bytes of r.
func NewHive(r io.ReaderAt, size int64) (*Hive, error) {
	if size < baseBlockSize {
		return nil, formatErr(0, "%d bytes, smaller than a base block", size)
	}
	b := make([]byte, baseBlockSize)
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("regf: reading the base block: %w", err)
	}
	le := binary.LittleEndian
	if string(b[:4]) != "regf" {
		return nil, formatErr(0, "no regf signature")
	}
	var sum uint32
	for i := 0; i < 508; i += 4 {
		sum ^= le.Uint32(b[i:])
	}
	switch sum {
	case 0:
		sum = 1
	case 0xFFFFFFFF:
		sum = 0xFFFFFFFE
	}
	if got := le.Uint32(b[508:]); got != sum {
		return nil, formatErr(508, "base block checksum %#x, computed %#x", got, sum)
	}
	h := &Hive{r: r, size: size, minor: le.Uint32(b[24:]), root: le.Uint32(b[36:])}
	if major := le.Uint32(b[20:]); major != 1 {
		return nil, formatErr(20, "major version %d", major)
	}
	if ft := le.Uint32(b[28:]); ft != 0 {
		return nil, formatErr(28, "file type %d is not a primary hive (a transaction log?)", ft)
	}
	h.Dirty = le.Uint32(b[4:]) != le.Uint32(b[8:])
	h.Modified = filetime(le.Uint64(b[12:]))
	// The hive bins size in the base block may lag behind the file when
	// it is dirty; the file's own size bounds every cell anyway.
	h.bins = min(int64(le.Uint32(b[40:])), size-baseBlockSize)
	if h.Dirty || h.bins <= 0 {
		h.bins = size - baseBlockSize
	}
	if int64(h.root) >= h.bins {
		return nil, formatErr(36, "root key cell at %#x past the hive bins (%d bytes)", h.root, h.bins)
	}
	return h, nil
}

// Open opens the hive file at path; Close closes it.
func Open(path string) (*Hive, error) {
	f, _, size, err := srcfile.Open(path)
	if err != nil {
		if errors.Is(err, srcfile.ErrNotFile) {
			err = fmt.Errorf("%w: %w", ErrFormat, err)
		}
		return nil, err
	}
	h, err := NewHive(f, size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	h.closer = f
	return h, nil
}

// Close closes the file Open opened; it does nothing for NewHive.
func (h *Hive) Close() error {
	if h.closer != nil {
		return h.closer.Close()
	}
	return nil
}

// cell returns the data of the allocated cell at off (an offset after the
// base block), without its size field.
func (h *Hive) cell(off uint32) ([]byte, error) {
	pos := int64(off)
	if off == 0xFFFFFFFF || pos+4 > h.bins {
		return nil, formatErr(-1, "cell offset %#x past the hive bins (%d bytes)", off, h.bins)
	}
	var sb [4]byte
	if _, err := h.r.ReadAt(sb[:], baseBlockSize+pos); err != nil {
		return nil, fmt.Errorf("regf: reading the cell at %#x: %w", off, err)
	}
	size := -int64(int32(binary.LittleEndian.Uint32(sb[:])))
	switch {
	case size <= 0:
		return nil, formatErr(baseBlockSize+pos, "cell %#x is free (size %d)", off, -size)
	case size < 4 || size > maxCell || pos+size > h.bins:
		return nil, formatErr(baseBlockSize+pos, "cell %#x of %d bytes", off, size)
	}
	b := make([]byte, size-4)
	if n, err := h.r.ReadAt(b, baseBlockSize+pos+4); n < len(b) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("regf: reading the cell at %#x: %w", off, err)
	}
	return b, nil
}

// filetime converts a Windows FILETIME (100 ns since 1601) to a time.
func filetime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	const epochDiff = 116444736000000000 // 1601 to 1970 in 100 ns
	if ft < epochDiff {
		return time.Unix(0, 0).UTC().Add(-time.Duration((epochDiff-ft)%(1<<62)) * 100)
	}
	return time.Unix(int64((ft-epochDiff)/1e7), int64((ft-epochDiff)%1e7)*100).UTC()
}

// decodeName decodes a key or value name: Latin-1 when ascii is set (the
// COMP_NAME flags), else UTF-16LE.
func decodeName(b []byte, ascii bool) string {
	if ascii {
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
