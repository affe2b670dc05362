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
// three small calls per 16 bytes; here a sector goes through one CBC
// decryption instead, which is crypto/aes's fastest bulk decryption:
//
//	X_i = C_i ^ T_i           (in place)
//	Y_i = D(X_i) ^ X_(i-1)    (CBC decryption with a zero IV)
//	P_i = D(X_i) ^ T_i = Y_i ^ X_(i-1) ^ T_i
//
// so only a copy of X needs scratch space, pooled.
// Tests check it against x/crypto/xts.
type xtsCipher struct {
	k1, k2 cipher.Block
	shift  uint // log2 of the sector size: the tweak counts sectors
	pool   sync.Pool
}

type xtsState struct {
	dec, enc ivMode
	x        []byte // the saved X of one sector
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
			x:   make([]byte, sectorSize),
		}
	}
	return c, nil
}

// firstTweak returns T_0 = E(K2, sector number) as two little-endian
// words; T_(i+1) = T_i * x in GF(2^128) follows with mul2.
func (c *xtsCipher) firstTweak(st *xtsState, pos int64) (lo, hi uint64) {
	clear(st.blk[:])
	binary.LittleEndian.PutUint64(st.blk[:], uint64(pos)>>c.shift)
	c.k2.Encrypt(st.blk[:], st.blk[:])
	return binary.LittleEndian.Uint64(st.blk[:]), binary.LittleEndian.Uint64(st.blk[8:])
}

func mul2(lo, hi uint64) (uint64, uint64) {
	carry := hi >> 63
	return lo<<1 ^ carry*0x87, hi<<1 | lo>>63
}

// decrypt makes two passes around one CBC decryption; the tweaks are
// recomputed in the second pass rather than stored, which is cheaper than
// the memory traffic.
func (c *xtsCipher) decrypt(buf []byte, pos int64) {
	st := c.pool.Get().(*xtsState)
	n := len(buf)
	x := st.x[:n]
	lo0, hi0 := c.firstTweak(st, pos)
	lo, hi := lo0, hi0
	for i := 0; i+16 <= n; i += 16 {
		a := binary.LittleEndian.Uint64(buf[i:]) ^ lo
		b := binary.LittleEndian.Uint64(buf[i+8:]) ^ hi
		binary.LittleEndian.PutUint64(buf[i:], a)
		binary.LittleEndian.PutUint64(buf[i+8:], b)
		binary.LittleEndian.PutUint64(x[i:], a)
		binary.LittleEndian.PutUint64(x[i+8:], b)
		lo, hi = mul2(lo, hi)
	}
	st.dec.SetIV(st.zero[:])
	st.dec.CryptBlocks(buf, buf)
	lo, hi = lo0, hi0
	var plo, phi uint64 // X_(i-1), zero before the first block
	for i := 0; i+16 <= n; i += 16 {
		binary.LittleEndian.PutUint64(buf[i:], binary.LittleEndian.Uint64(buf[i:])^lo^plo)
		binary.LittleEndian.PutUint64(buf[i+8:], binary.LittleEndian.Uint64(buf[i+8:])^hi^phi)
		plo, phi = binary.LittleEndian.Uint64(x[i:]), binary.LittleEndian.Uint64(x[i+8:])
		lo, hi = mul2(lo, hi)
	}
	c.pool.Put(st)
}

func (c *xtsCipher) encrypt(buf []byte, pos int64) {
	st := c.pool.Get().(*xtsState)
	lo, hi := c.firstTweak(st, pos)
	for i := 0; i+16 <= len(buf); i += 16 {
		b := buf[i : i+16]
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^lo)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^hi)
		c.k1.Encrypt(b, b)
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^lo)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^hi)
		lo, hi = mul2(lo, hi)
	}
	c.pool.Put(st)
}

// xorWords sets dst = a ^ b, 8 bytes at a time (lengths are multiples of 16).
func xorWords(dst, a, b []byte) {
	for i := 0; i+8 <= len(dst); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(a[i:])^binary.LittleEndian.Uint64(b[i:]))
	}
}

// Format keeps fmt out of the key schedules.
func (c *xtsCipher) Format(f fmt.State, _ rune) { fmt.Fprint(f, "AES-XTS") }
