package luks

import (
	"fmt"
	"io"
	"runtime"
	"sync"
)

// Reader is the decrypted data segment of an unlocked volume: byte 0 is
// the first byte of the filesystem (or LVM group) inside.
type Reader struct {
	v       *Volume
	c       sectorCipher
	key     []byte
	KeySlot int // the key slot that opened the volume; -1 when opened by UnlockKey
}

func (v *Volume) newReader(key []byte, slot int) (*Reader, error) {
	c, err := newSectorCipher(v.Cipher, key)
	if err != nil {
		return nil, err
	}
	return &Reader{v: v, c: c, key: key, KeySlot: slot}, nil
}

// VolumeKey is the key that decrypts the volume, for UnlockKey on other
// copies of it (the same volume in another checkpoint): a secret, to keep
// in memory only.
func (r *Reader) VolumeKey() []byte { return r.key }

// Size is the size of the decrypted volume.
func (r *Reader) Size() int64 { return r.v.dataSize }

// maxChunk bounds the buffer an unaligned ReadAt decrypts in: a large
// read goes in pieces.
const maxChunk = 1 << 20

var chunkPool = sync.Pool{New: func() any { b := make([]byte, maxChunk); return &b }}

// ReadAt reads decrypted bytes at off, as io.ReaderAt. It is safe for
// concurrent use. A read of whole sectors is read and decrypted in place
// in p; any other goes through a buffer of whole sectors.
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
	if off%ss == 0 && int64(len(p))%ss == 0 {
		if err := r.readSectors(p, off); err != nil {
			return 0, err
		}
		return eofIfShort(len(p), want)
	}
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		first := pos / ss * ss
		end := min(roundUp(off+int64(len(p)), ss), first+maxChunk, size)
		b := (*bp)[:end-first]
		if err := r.readSectors(b, first); err != nil {
			return done, err
		}
		done += copy(p[done:], b[pos-first:])
	}
	return eofIfShort(done, want)
}

func eofIfShort(n, want int) (int, error) {
	if n < want {
		return n, io.EOF
	}
	return n, nil
}

// pieceBytes is how much one goroutine decrypts of a large read: a 1 MiB
// FUSE read keeps two cores busy.
const pieceBytes = 256 << 10

// readSectors reads whole sectors at off (sector-aligned) into b and
// decrypts them there, large reads on several cores. The read below is
// one call, so that a chain's read-ahead sees one sequential stream.
func (r *Reader) readSectors(b []byte, off int64) error {
	if _, err := r.v.r.ReadAt(b, r.v.dataOff+off); err != nil {
		return fmt.Errorf("luks: reading the data at byte 0x%x: %w", r.v.dataOff+off, err)
	}
	ss := r.v.sectorSize
	decrypt := func(lo, hi int) {
		// The IV counts 512-byte sectors whatever the encryption sector
		// size (dm-crypt without iv_large_sectors, as cryptsetup maps
		// LUKS2), from the segment's start plus its iv_tweak.
		for i := lo; i < hi; i += ss {
			r.c.decrypt(b[i:i+ss], uint64((off+int64(i))/sectorSize)+r.v.ivTweak)
		}
	}
	pieces := min(len(b)/pieceBytes, runtime.GOMAXPROCS(0))
	if pieces < 2 {
		decrypt(0, len(b))
		return nil
	}
	per := (len(b)/pieces + ss - 1) / ss * ss
	var wg sync.WaitGroup
	for lo := per; lo < len(b); lo += per {
		wg.Add(1)
		go func(lo int) {
			defer wg.Done()
			decrypt(lo, min(lo+per, len(b)))
		}(lo)
	}
	decrypt(0, min(per, len(b)))
	wg.Wait()
	return nil
}
