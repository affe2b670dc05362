package bitlocker

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"sync"
)

// xtsCipher is AES-XTS (IEEE 1619) over whole sectors, the tweak being the
// sector number: P_i = D(K1, C_i ^ T_i) ^ T_i, with T_0 = E(K2, sector)
// and T_(i+1) = T_i * α in GF(2^128). golang.org/x/crypto/xts makes three
// small calls per 16 bytes. Here a sector goes through three passes: the
// tweaks XORed in (64-bit words), Block.Decrypt of every block in place,
// the tweaks XORed in again (recomputed: a multiplication by α is a few
// register operations; with AVX2 the first pass keeps them instead, see
// xts_amd64.go: XTS-128 1,490 -> 1,660 MB per CPU-second with 512-byte
// sectors, 1,555 -> 1,800 with 4 KiB ones). Decrypting each block right after its XOR was half
// as fast: crypto/aes loads the block as 16 bytes just stored as two
// 8-byte words, which the CPU cannot forward from its store buffer, so
// every block waited for its own stores.
type xtsCipher struct {
	k1, k2 cipher.Block
	shift  uint      // log2 of the sector size: the tweak counts sectors
	pool   sync.Pool // *xtsState
}

// xtsState is what one call needs: the block T_0 is computed in, and for
// the vector passes (xts_amd64.go) the first four tweaks of a sector and
// room for all of them.
type xtsState struct {
	blk    [16]byte
	t4     [8]uint64
	tweaks []byte
}

func newXTS(key []byte, sectorSize int) (*xtsCipher, error) {
	half := len(key) / 2
	k1, err := aes.NewCipher(key[:half])
	if err != nil {
		return nil, err
	}
	k2, err := aes.NewCipher(key[half:])
	if err != nil {
		return nil, err
	}
	c := &xtsCipher{k1: k1, k2: k2, shift: log2(sectorSize)}
	c.pool.New = func() any { return &xtsState{tweaks: make([]byte, sectorSize)} }
	return c, nil
}

// firstTweak returns T_0 = E(K2, sector number) as two little-endian
// words.
func (c *xtsCipher) firstTweak(blk *[16]byte, sector uint64) (lo, hi uint64) {
	clear(blk[:])
	binary.LittleEndian.PutUint64(blk[:], sector)
	c.k2.Encrypt(blk[:], blk[:])
	return binary.LittleEndian.Uint64(blk[:]), binary.LittleEndian.Uint64(blk[8:])
}

// mul2 multiplies a tweak by α, the polynomial x, in GF(2^128). The
// reduction is masked in, not multiplied in: the tweaks form one chain of
// dependent steps through a sector, and a multiplication would add its
// latency to every step.
func mul2(lo, hi uint64) (uint64, uint64) {
	return lo<<1 ^ uint64(int64(hi)>>63)&0x87, hi<<1 | lo>>63
}

// xorTweaks sets dst = src ^ T_i for the blocks of one sector, T_0 being
// (lo, hi).
func xorTweaks(dst, src []byte, lo, hi uint64) {
	for i := 0; i+16 <= len(src) && i+16 <= len(dst); i += 16 {
		s := src[i : i+16 : i+16]
		d := dst[i : i+16 : i+16]
		x0 := binary.LittleEndian.Uint64(s) ^ lo
		x1 := binary.LittleEndian.Uint64(s[8:]) ^ hi
		binary.LittleEndian.PutUint64(d, x0)
		binary.LittleEndian.PutUint64(d[8:], x1)
		lo, hi = mul2(lo, hi)
	}
}

func (c *xtsCipher) decrypt(dst, src []byte, pos int64) {
	st := c.pool.Get().(*xtsState)
	sector := uint64(pos) >> c.shift
	n := 1 << c.shift
	for off := 0; off+n <= len(src); off += n {
		d, s := dst[off:off+n:off+n], src[off:off+n:off+n]
		lo, hi := c.firstTweak(&st.blk, sector)
		sector++
		fast := xorTweaksFast(d, s, lo, hi, st)
		if !fast {
			xorTweaks(d, s, lo, hi)
		}
		for i := 0; i+16 <= len(d); i += 16 {
			b := d[i : i+16 : i+16]
			c.k1.Decrypt(b, b)
		}
		if fast {
			subtle.XORBytes(d, d, st.tweaks[:n])
		} else {
			xorTweaks(d, d, lo, hi)
		}
	}
	c.pool.Put(st)
}

// encrypt mirrors decrypt; only tests and tools encrypt.
func (c *xtsCipher) encrypt(buf []byte, pos int64) {
	st := c.pool.Get().(*xtsState)
	sector := uint64(pos) >> c.shift
	n := 1 << c.shift
	for off := 0; off+n <= len(buf); off += n {
		b := buf[off : off+n : off+n]
		lo, hi := c.firstTweak(&st.blk, sector)
		sector++
		xorTweaks(b, b, lo, hi)
		for i := 0; i+16 <= len(b); i += 16 {
			c.k1.Encrypt(b[i:i+16:i+16], b[i:i+16:i+16])
		}
		xorTweaks(b, b, lo, hi)
	}
	c.pool.Put(st)
}

// Format keeps fmt out of the key schedules.
func (c *xtsCipher) Format(f fmt.State, _ rune) { fmt.Fprint(f, "AES-XTS") }
