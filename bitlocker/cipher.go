package bitlocker

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"sync"
)

// sectorCipher decrypts runs of whole sectors. pos is the byte offset of
// the first sector in the volume as it lies on disk: it seeds the IV
// (CBC), the sector key (Elephant) or the tweak (XTS) of each sector.
// Implementations are safe for concurrent use; per-call state comes from a
// pool, taken once per call, so a read allocates nothing per sector.
type sectorCipher interface {
	// decrypt writes the plaintext of the sectors in src to dst, which
	// has src's length and is either src itself or does not overlap it.
	decrypt(dst, src []byte, pos int64)
	// encrypt encrypts buf in place; tests and tools build volumes with it.
	encrypt(buf []byte, pos int64)
}

// chunkBytes is how much of a run is taken at a time: each chunk goes
// through a few passes (tweaks, the AES decryption, the fix-ups), and at
// this size the chunk and its scratch stay in the core's first-level
// cache between passes.
const chunkBytes = 8 << 10

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

// chunkFor is the chunk size for a sector size: chunkBytes, or one sector
// when sectors are larger.
func chunkFor(sectorSize int) int {
	return max(chunkBytes/sectorSize, 1) * sectorSize
}

// ivMode is a CBC mode whose IV can be reset (crypto/cipher's
// implementations offer SetIV, as crypto/tls relies on).
type ivMode interface {
	cipher.BlockMode
	SetIV([]byte)
}

var errNoSetIV = fmt.Errorf("%w: this Go's CBC mode cannot reset its IV", ErrUnsupported)

// newCBCModes returns a CBC decrypter and encrypter with a zero IV, to be
// reset with SetIV.
func newCBCModes(b cipher.Block) (dec, enc ivMode, err error) {
	var zero [16]byte
	dec, ok1 := cipher.NewCBCDecrypter(b, zero[:]).(ivMode)
	enc, ok2 := cipher.NewCBCEncrypter(b, zero[:]).(ivMode)
	if !ok1 || !ok2 {
		return nil, nil, errNoSetIV
	}
	return dec, enc, nil
}

// cbcCipher is AES-CBC with the IV derived from the byte offset (E(K,
// offset), "eboiv"), optionally with the Elephant diffuser of Windows Vista
// and 7 around it.
//
// A chunk of several sectors goes through one CBC decryption, whose chain
// runs on from one sector into the next: the first block of every sector
// but the chunk's first then comes out XORed with the last ciphertext
// block of the sector before instead of with its own IV, and one XOR of
// both (saved before the decryption) puts it right. That spares a call
// and an IV reset per sector.
type cbcCipher struct {
	block   cipher.Block
	tweak   cipher.Block // the sector-key cipher; nil without the diffuser
	sectorN int
	chunk   int
	pool    sync.Pool // *cbcState
}

// cbcState is what one call needs.
type cbcState struct {
	dec, enc ivMode
	blk      [16]byte
	iv       [16]byte
	key      [32]byte
	fix      [][16]byte // per sector of a chunk: last ciphertext block before it ^ its IV
	words    []uint32   // the diffuser's sector
}

func newCBC(key, tweak []byte, sectorSize int) (*cbcCipher, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	c := &cbcCipher{block: b, sectorN: sectorSize, chunk: chunkFor(sectorSize)}
	if tweak != nil {
		if c.tweak, err = aes.NewCipher(tweak); err != nil {
			return nil, err
		}
	}
	if _, _, err := newCBCModes(b); err != nil {
		return nil, err
	}
	c.pool.New = func() any {
		dec, enc, _ := newCBCModes(b)
		return &cbcState{dec: dec, enc: enc,
			fix:   make([][16]byte, c.chunk/sectorSize),
			words: make([]uint32, sectorSize/4)}
	}
	return c, nil
}

// ivAt sets st.iv to E(K, pos).
func (c *cbcCipher) ivAt(st *cbcState, pos int64) {
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

func (c *cbcCipher) decrypt(dst, src []byte, pos int64) {
	st := c.pool.Get().(*cbcState)
	for off := 0; off < len(src); off += c.chunk {
		end := min(off+c.chunk, len(src))
		c.decryptChunk(st, dst[off:end], src[off:end], pos+int64(off))
	}
	c.pool.Put(st)
}

func (c *cbcCipher) decryptChunk(st *cbcState, dst, src []byte, pos int64) {
	ss := c.sectorN
	n := len(src) / ss
	for s := 1; s < n; s++ {
		c.ivAt(st, pos+int64(s*ss))
		last := src[s*ss-16 : s*ss]
		xorWords(st.fix[s][:], last, st.iv[:])
	}
	c.ivAt(st, pos)
	st.dec.SetIV(st.iv[:])
	st.dec.CryptBlocks(dst, src)
	for s := 1; s < n; s++ {
		first := dst[s*ss : s*ss+16]
		xorWords(first, first, st.fix[s][:])
	}
	if c.tweak == nil {
		return
	}
	w := st.words
	for s := 0; s < n; s++ {
		sec := dst[s*ss : (s+1)*ss]
		load(w, sec)
		diffuserBDecrypt(w)
		diffuserADecrypt(w)
		store(sec, w)
		c.sectorKey(st, pos+int64(s*ss))
		xorRepeat(sec, st.key[:])
	}
}

func (c *cbcCipher) encrypt(buf []byte, pos int64) {
	st := c.pool.Get().(*cbcState)
	for off := 0; off < len(buf); off += c.sectorN {
		sec := buf[off : off+c.sectorN]
		at := pos + int64(off)
		if c.tweak != nil {
			c.sectorKey(st, at)
			xorRepeat(sec, st.key[:])
			w := st.words
			load(w, sec)
			diffuserAEncrypt(w)
			diffuserBEncrypt(w)
			store(sec, w)
		}
		c.ivAt(st, at)
		st.enc.SetIV(st.iv[:])
		st.enc.CryptBlocks(sec, sec)
	}
	c.pool.Put(st)
}

// load and store move a sector between bytes and little-endian words,
// eight bytes at a time.
func load(w []uint32, b []byte) {
	for i := 0; i+1 < len(w); i += 2 {
		x := binary.LittleEndian.Uint64(b[4*i : 4*i+8 : 4*i+8])
		v := w[i : i+2 : i+2]
		v[0], v[1] = uint32(x), uint32(x>>32)
	}
}

func store(b []byte, w []uint32) {
	for i := 0; i+1 < len(w); i += 2 {
		v := w[i : i+2 : i+2]
		binary.LittleEndian.PutUint64(b[4*i:4*i+8:4*i+8], uint64(v[0])|uint64(v[1])<<32)
	}
}

// xorRepeat XORs the 32-byte sector key over every 32 bytes of buf.
func xorRepeat(buf, key []byte) {
	k0 := binary.LittleEndian.Uint64(key)
	k1 := binary.LittleEndian.Uint64(key[8:])
	k2 := binary.LittleEndian.Uint64(key[16:])
	k3 := binary.LittleEndian.Uint64(key[24:])
	for i := 0; i+32 <= len(buf); i += 32 {
		b := buf[i : i+32 : i+32]
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k0)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k1)
		binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k2)
		binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k3)
	}
}

// xorWords sets dst = a ^ b, 8 bytes at a time (lengths are multiples of 16).
func xorWords(dst, a, b []byte) {
	for i := 0; i+8 <= len(dst); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(a[i:])^binary.LittleEndian.Uint64(b[i:]))
	}
}

// Format keeps fmt out of the key schedules.
func (c *cbcCipher) Format(f fmt.State, _ rune) { fmt.Fprint(f, "AES-CBC") }
