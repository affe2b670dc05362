package bitlocker

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"
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

// Speed. On amd64 Go's crypto/aes runs AES-NI one block per call
// (Block.Decrypt); its CBC decrypter is that call plus a call of
// subtle.XORBytes per block, and has no multi-block assembly as its CTR
// and GCM modes do. The blocks of a sector are independent under
// decryption, so the CPU overlaps consecutive calls; what is left to win
// is the work around them. So the ciphers here call Block.Decrypt per
// block directly and do their own XORs with 64-bit words, sector by
// sector (a sector stays in the first-level cache between the passes).
// XTS went from 1,100 to 1,430 MB per CPU-second that way (XTS through one
// CBC decryption per 8 KiB and two fix-up passes before), CBC stayed at
// about 1,450 without its IV fix-ups, and a loop of bare Block.Decrypt
// calls, the floor of this approach, does 1,800 to 2,100. Tried and no
// faster: decrypting each block right after its tweak XOR (half as fast,
// see xtsCipher), the tweaks stored in the first pass instead of
// recomputed, XORs through subtle.XORBytes, the calls unrolled by four,
// the XOR-out pass folded into the loop of calls, and all three passes in
// one loop with the XOR-in four blocks ahead of the calls (2-3% slower,
// best of 21 runs).

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
	lanes   int       // sectors decrypted as a group (diffuser_lanes.go); 0: one by one
	pool    sync.Pool // *cbcState
}

// cbcState is what one call needs. The blocks handed to crypto/aes live
// here: passed through the cipher.Block interface, a stack array would
// move to the heap on every call.
type cbcState struct {
	blk   [16]byte
	iv    [16]byte
	key   [32]byte
	words []uint32 // the diffuser's sector
	ct    []byte   // a sector's ciphertext, when decrypted in place
	keys  laneKeys // the sector keys of a group
	lane  []byte   // a group's scratch (newLaneScratch)
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
	if c.tweak != nil && laneWords(sectorSize/4) {
		c.lanes = simdLanes
	}
	c.pool.New = func() any {
		st := &cbcState{words: make([]uint32, sectorSize/4), ct: make([]byte, sectorSize)}
		if c.lanes > 1 {
			st.lane = newLaneScratch(sectorSize/4, c.lanes)
		}
		return st
	}
	return c, nil
}

// ivAt sets st.iv to E(K, pos).
func (c *cbcCipher) ivAt(st *cbcState, pos int64) {
	clear(st.blk[:])
	binary.LittleEndian.PutUint64(st.blk[:], uint64(pos))
	c.block.Encrypt(st.iv[:], st.blk[:])
}

// sectorKey sets key to E(Kt, offset) followed by E(Kt, offset with byte
// 15 set to 0x80): the 32 bytes XORed over every sector before the
// diffusers.
func (c *cbcCipher) sectorKey(st *cbcState, key *[32]byte, pos int64) {
	clear(st.blk[:])
	binary.LittleEndian.PutUint64(st.blk[:], uint64(pos))
	c.tweak.Encrypt(key[:16], st.blk[:])
	st.blk[15] = 0x80
	c.tweak.Encrypt(key[16:], st.blk[:])
}

func (c *cbcCipher) decrypt(dst, src []byte, pos int64) {
	st := c.pool.Get().(*cbcState)
	ss := c.sectorN
	off := 0
	if g := c.lanes * ss; c.lanes > 1 {
		// Groups of sectors: AES sector by sector, then the diffusers
		// and sector keys of the whole group at once.
		for ; off+g <= len(src) && off+g <= len(dst); off += g {
			for k := 0; k < c.lanes; k++ {
				o := off + k*ss
				at := pos + int64(o)
				c.ivAt(st, at)
				c.decryptSector(dst[o:o+ss:o+ss], src[o:o+ss:o+ss], &st.iv, st.ct)
				c.sectorKey(st, &st.keys[k], at)
			}
			diffuseLanes(dst[off:off+g:off+g], ss/4, c.lanes, &st.keys, st.lane)
		}
	}
	for ; off+ss <= len(src); off += ss {
		d, s := dst[off:off+ss:off+ss], src[off:off+ss:off+ss]
		at := pos + int64(off)
		c.ivAt(st, at)
		c.decryptSector(d, s, &st.iv, st.ct)
		if c.tweak == nil {
			continue
		}
		c.sectorKey(st, &st.key, at)
		if w := wordsOf(d); w != nil {
			diffuserBDecrypt(w)
			diffuserADecrypt(w)
			xorRepeat(d, st.key[:])
			continue
		}
		w := st.words
		load(w, d)
		diffuserBDecrypt(w)
		diffuserADecrypt(w)
		storeXOR(d, w, &st.key)
	}
	c.pool.Put(st)
}

// decryptSector is CBC decryption of one sector, P_i = D(C_i) ^ C_(i-1),
// C_(-1) being the IV: every block decrypted into d, then the sector
// XORed with the ciphertext one block behind (crypto/subtle's vector
// XOR). When d is s, the ciphertext is first copied to ct. Done block by
// block (each C_i kept in registers, its decryption XORed with the last),
// a sector took 320-350 ns in place and 430-510 ns into another buffer, as
// a read from views does; this way 285-300 ns either way.
func (c *cbcCipher) decryptSector(d, s []byte, iv *[16]byte, ct []byte) {
	n := len(s)
	if n < 16 || len(d) < n || len(ct) < n {
		return
	}
	if &d[0] == &s[0] {
		copy(ct, s)
		s = ct[:n]
	}
	for i := 0; i+16 <= n; i += 16 {
		c.block.Decrypt(d[i:i+16:i+16], s[i:i+16:i+16])
	}
	subtle.XORBytes(d[:16], d[:16], iv[:])
	subtle.XORBytes(d[16:n], d[16:n], s[:n-16])
}

// encrypt is the plain per-sector definition: only tests and tools
// encrypt, and the tests check the decryption against it.
func (c *cbcCipher) encrypt(buf []byte, pos int64) {
	st := c.pool.Get().(*cbcState)
	for off := 0; off+c.sectorN <= len(buf); off += c.sectorN {
		sec := buf[off : off+c.sectorN]
		at := pos + int64(off)
		if c.tweak != nil {
			c.sectorKey(st, &st.key, at)
			xorRepeat(sec, st.key[:])
			w := st.words
			load(w, sec)
			diffuserAEncrypt(w)
			diffuserBEncrypt(w)
			store(sec, w)
		}
		c.ivAt(st, at)
		prev := st.iv[:]
		for i := 0; i < len(sec); i += 16 {
			b := sec[i : i+16]
			xorWords(b, b, prev)
			c.block.Encrypt(b, b)
			prev = b
		}
	}
	c.pool.Put(st)
}

// wordsOf returns b as the little-endian 32-bit words the diffusers work
// on, in place, where the machine's own words are those (little-endian,
// b aligned to four bytes: a FUSE read's buffer is); else nil, and the
// words go through a copy (load, storeXOR). In place, a 512-byte sector
// saves the two copies, about a tenth of its decryption.
func wordsOf(b []byte) []uint32 {
	p := unsafe.SliceData(b)
	if !nativeLittleEndian || len(b) < 4 || uintptr(unsafe.Pointer(p))%4 != 0 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(p)), len(b)/4)
}

var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

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

// storeXOR is store followed by xorRepeat with the sector key, in one
// pass.
func storeXOR(b []byte, w []uint32, key *[32]byte) {
	var k [4]uint64
	for j := range k {
		k[j] = binary.LittleEndian.Uint64(key[8*j:])
	}
	for i := 0; i+8 <= len(w) && 4*i+32 <= len(b); i += 8 {
		v := w[i : i+8 : i+8]
		o := b[4*i : 4*i+32 : 4*i+32]
		binary.LittleEndian.PutUint64(o, (uint64(v[0])|uint64(v[1])<<32)^k[0])
		binary.LittleEndian.PutUint64(o[8:], (uint64(v[2])|uint64(v[3])<<32)^k[1])
		binary.LittleEndian.PutUint64(o[16:], (uint64(v[4])|uint64(v[5])<<32)^k[2])
		binary.LittleEndian.PutUint64(o[24:], (uint64(v[6])|uint64(v[7])<<32)^k[3])
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
