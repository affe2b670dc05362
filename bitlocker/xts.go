package bitlocker

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"sync"
)

// xtsCipher is AES-XTS (IEEE 1619) over whole sectors, the tweak being the
// sector number. golang.org/x/crypto/xts decrypts block by block through
// three small calls per 16 bytes. Here a chunk of sectors goes through one
// CBC decryption instead, which is crypto/aes's fastest decryption of many
// blocks (it needs no IV work per block and no call per block of ours):
//
//	X_i = C_i ^ T_i            (written to dst)
//	Y_i = D(X_i) ^ X_(i-1)     (CBC decryption of dst in place, zero IV)
//	P_i = D(X_i) ^ T_i = Y_i ^ U_i   with U_i = T_i ^ X_(i-1)
//
// The first pass computes the tweaks (T_(i+1) = T_i * α in GF(2^128))
// and U; the last XORs U in. X_(-1) is zero: the chain restarts with
// every chunk.
type xtsCipher struct {
	k1, k2 cipher.Block
	shift  uint // log2 of the sector size: the tweak counts sectors
	chunk  int
	pool   sync.Pool // *xtsState
}

type xtsState struct {
	dec  ivMode
	u    []uint64 // U of one chunk, two words per block
	blk  [16]byte
	zero [16]byte // the IV; here, not on the stack, as SetIV would move it to the heap
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
	c := &xtsCipher{k1: k1, k2: k2, shift: log2(sectorSize), chunk: chunkFor(sectorSize)}
	if _, _, err := newCBCModes(k1); err != nil {
		return nil, err
	}
	c.pool.New = func() any {
		dec, _, _ := newCBCModes(k1)
		return &xtsState{dec: dec, u: make([]uint64, c.chunk/8)}
	}
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

// mul2 multiplies a tweak by α, the polynomial x, in GF(2^128).
func mul2(lo, hi uint64) (uint64, uint64) {
	carry := hi >> 63
	return lo<<1 ^ carry*0x87, hi<<1 | lo>>63
}

func (c *xtsCipher) decrypt(dst, src []byte, pos int64) {
	st := c.pool.Get().(*xtsState)
	sector := uint64(pos) >> c.shift
	perChunk := uint64(c.chunk) >> c.shift
	for off := 0; off < len(src); off += c.chunk {
		end := min(off+c.chunk, len(src))
		d, s := dst[off:end], src[off:end]
		c.whiten(st, d, s, sector)
		st.dec.SetIV(st.zero[:])
		st.dec.CryptBlocks(d, d)
		u := st.u[:len(d)/8]
		for i := 0; i+1 < len(u); i += 2 {
			b := d[8*i : 8*i+16 : 8*i+16]
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^u[i])
			binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^u[i+1])
		}
		sector += perChunk
	}
	c.pool.Put(st)
}

// whiten is the first pass over a chunk: dst = C ^ T, st.u = T ^ X_prev.
func (c *xtsCipher) whiten(st *xtsState, dst, src []byte, sector uint64) {
	u := st.u[:len(src)/8]
	perSector := 1 << c.shift
	var plo, phi uint64 // X_(i-1)
	for s := 0; s < len(src); s += perSector {
		lo, hi := c.firstTweak(&st.blk, sector)
		sector++
		for i := s; i < s+perSector; i += 16 {
			cb := src[i : i+16 : i+16]
			xlo := binary.LittleEndian.Uint64(cb) ^ lo
			xhi := binary.LittleEndian.Uint64(cb[8:]) ^ hi
			db := dst[i : i+16 : i+16]
			binary.LittleEndian.PutUint64(db, xlo)
			binary.LittleEndian.PutUint64(db[8:], xhi)
			w := u[i/8 : i/8+2 : i/8+2]
			w[0], w[1] = lo^plo, hi^phi
			plo, phi = xlo, xhi
			lo, hi = mul2(lo, hi)
		}
	}
}

// encrypt is block by block: only tests and tools encrypt.
func (c *xtsCipher) encrypt(buf []byte, pos int64) {
	var blk [16]byte
	sector := uint64(pos) >> c.shift
	perSector := 1 << c.shift
	for s := 0; s < len(buf); s += perSector {
		lo, hi := c.firstTweak(&blk, sector)
		sector++
		for i := s; i+16 <= s+perSector && i+16 <= len(buf); i += 16 {
			b := buf[i : i+16]
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^lo)
			binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^hi)
			c.k1.Encrypt(b, b)
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^lo)
			binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^hi)
			lo, hi = mul2(lo, hi)
		}
	}
}

// Format keeps fmt out of the key schedules.
func (c *xtsCipher) Format(f fmt.State, _ rune) { fmt.Fprint(f, "AES-XTS") }
