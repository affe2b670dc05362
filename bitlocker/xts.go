package bitlocker

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"sync"
)

// xtsCipher is AES-XTS (IEEE 1619) over whole sectors, the tweak being the
// sector number. golang.org/x/crypto/xts decrypts block by block through
// three small calls per 16 bytes; here a sector goes through one CBC
// decryption instead, which is crypto/aes's fastest bulk decryption:
//
//	X_i = C_i ^ T_i           (in place)
//	Y_i = D(X_i) ^ X_(i-1)    (CBC decryption with a zero IV)
//	P_i = D(X_i) ^ T_i = Y_i ^ X_(i-1) ^ T_i
//
// so only a copy of X and the tweaks need scratch space, both pooled.
// Tests check it against x/crypto/xts.
type xtsCipher struct {
	k1, k2 cipher.Block
	shift  uint // log2 of the sector size: the tweak counts sectors
	pool   sync.Pool
}

type xtsState struct {
	dec, enc ivMode
	t, x     []byte // tweaks and the saved X of one sector
	blk      [16]byte
	zero     [16]byte
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
	var zero [16]byte
	if _, ok := cipher.NewCBCDecrypter(k1, zero[:]).(ivMode); !ok {
		return nil, errNoSetIV
	}
	c.pool.New = func() any {
		return &xtsState{
			dec: cipher.NewCBCDecrypter(k1, zero[:]).(ivMode),
			enc: cipher.NewCBCEncrypter(k1, zero[:]).(ivMode),
			t:   make([]byte, sectorSize),
			x:   make([]byte, sectorSize),
		}
	}
	return c, nil
}

// tweaks fills st.t with T_0 = E(K2, sector number) and T_(i+1) = T_i * x
// in GF(2^128), little-endian as XTS defines it.
func (c *xtsCipher) tweaks(st *xtsState, n int, pos int64) {
	clear(st.blk[:])
	binary.LittleEndian.PutUint64(st.blk[:], uint64(pos)>>c.shift)
	c.k2.Encrypt(st.blk[:], st.blk[:])
	lo := binary.LittleEndian.Uint64(st.blk[:])
	hi := binary.LittleEndian.Uint64(st.blk[8:])
	t := st.t[:n]
	for i := 0; i < n; i += 16 {
		binary.LittleEndian.PutUint64(t[i:], lo)
		binary.LittleEndian.PutUint64(t[i+8:], hi)
		carry := hi >> 63
		hi = hi<<1 | lo>>63
		lo = lo<<1 ^ carry*0x87
	}
}

func (c *xtsCipher) decrypt(buf []byte, pos int64) {
	st := c.pool.Get().(*xtsState)
	n := len(buf)
	c.tweaks(st, n, pos)
	t, x := st.t[:n], st.x[:n]
	xorWords(buf, buf, t)
	copy(x, buf)
	st.dec.SetIV(st.zero[:])
	st.dec.CryptBlocks(buf, buf)
	xorWords(buf[:16], buf[:16], t[:16])
	xorWords3(buf[16:], t[16:], x[:n-16])
	c.pool.Put(st)
}

func (c *xtsCipher) encrypt(buf []byte, pos int64) {
	st := c.pool.Get().(*xtsState)
	n := len(buf)
	c.tweaks(st, n, pos)
	t := st.t[:n]
	xorWords(buf, buf, t)
	for i := 0; i < n; i += 16 {
		c.k1.Encrypt(buf[i:i+16], buf[i:i+16])
	}
	xorWords(buf, buf, t)
	c.pool.Put(st)
}

// xorWords sets dst = a ^ b, 8 bytes at a time (lengths are multiples of 16).
func xorWords(dst, a, b []byte) {
	for i := 0; i+8 <= len(dst); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(a[i:])^binary.LittleEndian.Uint64(b[i:]))
	}
}

// xorWords3 sets dst ^= a ^ b.
func xorWords3(dst, a, b []byte) {
	for i := 0; i+8 <= len(dst); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(dst[i:])^
			binary.LittleEndian.Uint64(a[i:])^binary.LittleEndian.Uint64(b[i:]))
	}
}
