package luks

import (
	"fmt"
	"io"
)

// Reader is the decrypted data segment of an unlocked volume: byte 0 is
// the first byte of the filesystem (or LVM group) inside.
type Reader struct {
	v       *Volume
	c       sectorCipher
	KeySlot int // the key slot that opened the volume
}

func (v *Volume) newReader(key []byte, slot int) (*Reader, error) {
	c, err := newSectorCipher(v.Cipher, key)
	if err != nil {
		return nil, err
	}
	return &Reader{v: v, c: c, KeySlot: slot}, nil
}

// Size is the size of the decrypted volume.
func (r *Reader) Size() int64 { return r.v.dataSize }

// maxChunk bounds the buffer one ReadAt decrypts in: a large read goes in
// pieces.
const maxChunk = 1 << 20

// ReadAt reads decrypted bytes at off, as io.ReaderAt. It is safe for
// concurrent use.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("luks: read at negative offset %d", off)
	}
	size := r.v.dataSize
	if off >= size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > size-off {
		p = p[:size-off]
	}
	ss := int64(r.v.sectorSize)
	var buf []byte
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		first := pos / ss * ss
		end := min(roundUp(off+int64(len(p)), ss), first+maxChunk, size)
		n := end - first
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		b := buf[:n]
		if _, err := r.v.r.ReadAt(b, r.v.dataOff+first); err != nil {
			return done, fmt.Errorf("luks: reading the data at byte 0x%x: %w", r.v.dataOff+first, err)
		}
		// The IV counts 512-byte sectors whatever the encryption sector
		// size (dm-crypt without iv_large_sectors, as cryptsetup maps
		// LUKS2), from the segment's start plus its iv_tweak.
		for i := int64(0); i < n; i += ss {
			r.c.decrypt(b[i:i+ss], uint64((first+i)/sectorSize)+r.v.ivTweak)
		}
		done += copy(p[done:], b[pos-first:])
	}
	if done < want {
		return done, io.EOF
	}
	return done, nil
}
