package bitlocker

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"sync"
)

// sectorCipher decrypts whole sectors in place. pos is the byte offset of
// the sector in the volume as it lies on disk: it seeds the IV (CBC), the
// sector key (Elephant) or the tweak (XTS). Implementations are safe for
// concurrent use; per-call state comes from a pool, so a read allocates
// nothing per sector.
type sectorCipher interface {
	decrypt(buf []byte, pos int64)
	encrypt(buf []byte, pos int64) // tests build volumes with it
}

func newSectorCipher(m Method, key []byte, sectorSize int) (sectorCipher, error) {
	switch m {
	case AESXTS128, AESXTS256:
		return newXTS(key[:m.keyLen()], sectorSize)
	case AESCBC128, AESCBC256:
		return newCBC(key[:m.keyLen()], nil, sectorSize)
	case AESCBC128Elephant:
		// 64 bytes: the CBC key, 16 unused, the sector-key key, 16 unused.
		return newCBC(key[:16], key[32:48], sectorSize)
	case AESCBC256Elephant:
		return newCBC(key[:32], key[32:64], sectorSize)
	}
	return nil, fmt.Errorf("%w: encryption %v", ErrUnsupported, m)
}

func log2(n int) uint {
	var s uint
	for 1<<s < n {
		s++
	}
	return s
}

// cbcCipher is AES-CBC with the IV derived from the byte offset (E(K,
// offset), "eboiv"), optionally with the Elephant diffuser of Windows Vista
// and 7 around it.
type cbcCipher struct {
	block   cipher.Block
	tweak   cipher.Block // the sector-key cipher; nil without the diffuser
	sectorN int
	pool    sync.Pool // *cbcState
}

// cbcState is what one call needs: a CBC decrypter whose IV can be reset
// (crypto/cipher's implementations offer SetIV, as crypto/tls relies on),
// and the diffuser's scratch.
type cbcState struct {
	dec, enc ivMode
	iv, blk  [16]byte
	key      [32]byte
	words    []uint32
}

var errNoSetIV = fmt.Errorf("%w: this Go's CBC mode cannot reset its IV", ErrUnsupported)

type ivMode interface {
	cipher.BlockMode
	SetIV([]byte)
}

func newCBC(key, tweak []byte, sectorSize int) (*cbcCipher, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	c := &cbcCipher{block: b, sectorN: sectorSize}
	if tweak != nil {
		if c.tweak, err = aes.NewCipher(tweak); err != nil {
			return nil, err
		}
	}
	var zero [16]byte
	if _, ok := cipher.NewCBCDecrypter(b, zero[:]).(ivMode); !ok {
		return nil, errNoSetIV
	}
	c.pool.New = func() any {
		return &cbcState{
			dec:   cipher.NewCBCDecrypter(b, zero[:]).(ivMode),
			enc:   cipher.NewCBCEncrypter(b, zero[:]).(ivMode),
			words: make([]uint32, sectorSize/4),
		}
	}
	return c, nil
}

func (c *cbcCipher) setIV(st *cbcState, pos int64) {
	clear(st.blk[:])
	binary.LittleEndian.PutUint64(st.blk[:], uint64(pos))
	c.block.Encrypt(st.iv[:], st.blk[:])
}

// sectorKey is E(Kt, offset) followed by E(Kt, offset with byte 15 set to
// 0x80): the 32 bytes XORed over every sector before the diffusers.
func (c *cbcCipher) sectorKey(st *cbcState, pos int64) {
	clear(st.blk[:])
	binary.LittleEndian.PutUint64(st.blk[:], uint64(pos))
	c.tweak.Encrypt(st.key[:16], st.blk[:])
	st.blk[15] = 0x80
	c.tweak.Encrypt(st.key[16:], st.blk[:])
}

func (c *cbcCipher) decrypt(buf []byte, pos int64) {
	st := c.pool.Get().(*cbcState)
	c.setIV(st, pos)
	st.dec.SetIV(st.iv[:])
	st.dec.CryptBlocks(buf, buf)
	if c.tweak != nil {
		w := st.words
		load(w, buf)
		diffuserBDecrypt(w)
		diffuserADecrypt(w)
		store(buf, w)
		c.sectorKey(st, pos)
		xorRepeat(buf, st.key[:])
	}
	c.pool.Put(st)
}

func (c *cbcCipher) encrypt(buf []byte, pos int64) {
	st := c.pool.Get().(*cbcState)
	if c.tweak != nil {
		c.sectorKey(st, pos)
		xorRepeat(buf, st.key[:])
		w := st.words
		load(w, buf)
		diffuserAEncrypt(w)
		diffuserBEncrypt(w)
		store(buf, w)
	}
	c.setIV(st, pos)
	st.enc.SetIV(st.iv[:])
	st.enc.CryptBlocks(buf, buf)
	c.pool.Put(st)
}

func load(w []uint32, b []byte) {
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
}

func store(b []byte, w []uint32) {
	for i, x := range w {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
}

// xorRepeat XORs the 32-byte sector key over every 32 bytes of buf.
func xorRepeat(buf, key []byte) {
	for i := 0; i < len(buf); i += 32 {
		xorWords(buf[i:i+32], buf[i:i+32], key)
	}
}

// Format keeps fmt out of the key schedules.
func (c *cbcCipher) Format(f fmt.State, _ rune) { fmt.Fprint(f, "AES-CBC") }
