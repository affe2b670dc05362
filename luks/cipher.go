package luks

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"strings"
)

// A sectorCipher decrypts whole sectors in place: sector is the number
// the IV is made from (dm-crypt's, after the IV offset or tweak).
type sectorCipher interface {
	decrypt(buf []byte, sector uint64)
}

// parseCipher splits a cryptsetup cipher specification ("aes-xts-plain64",
// "aes-cbc-essiv:sha256") into its cipher, mode and IV generator.
func parseCipher(spec string) (name, mode, iv string) {
	parts := strings.SplitN(spec, "-", 3)
	if len(parts) != 3 {
		return spec, "", ""
	}
	return parts[0], parts[1], parts[2]
}

// checkCipher refuses, before any key is tried, a cipher that could not
// be read anyway.
func checkCipher(spec string) error {
	name, mode, iv := parseCipher(spec)
	if name != "aes" {
		return unsupported("luks: cipher %q", spec)
	}
	switch mode + "-" + iv {
	case "xts-plain64", "xts-plain", "cbc-essiv:sha256", "cbc-plain64", "cbc-plain":
		return nil
	}
	return unsupported("luks: cipher mode %q", spec)
}

// newSectorCipher makes the cipher of spec with key.
func newSectorCipher(spec string, key []byte) (sectorCipher, error) {
	if err := checkCipher(spec); err != nil {
		return nil, err
	}
	_, mode, iv := parseCipher(spec)
	if mode == "xts" {
		if len(key) != 32 && len(key) != 64 {
			return nil, formatErr(-1, "AES-XTS key of %d bytes", len(key))
		}
		k1, err1 := aes.NewCipher(key[:len(key)/2])
		k2, err2 := aes.NewCipher(key[len(key)/2:])
		if err1 != nil || err2 != nil {
			return nil, formatErr(-1, "AES-XTS key of %d bytes", len(key))
		}
		return xtsCipher{k1: k1, k2: k2, plain32: iv == "plain"}, nil
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, formatErr(-1, "AES key of %d bytes", len(key))
	}
	c := &cbcCipher{b: b, iv: iv}
	if iv == "essiv:sha256" {
		// ESSIV: the IV is the sector number encrypted under the hash
		// of the key, so that IVs cannot be predicted.
		salt := sha256.Sum256(key)
		if c.essiv, err = aes.NewCipher(salt[:]); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// xtsCipher is AES-XTS (IEEE 1619) decryption of one sector at a time,
// with the tweak kept in two 64-bit words: golang.org/x/crypto/xts works
// byte by byte around each block and spent more time there than in AES.
type xtsCipher struct {
	k1, k2  cipher.Block // the data key and the tweak key
	plain32 bool         // "plain": the sector number's low 32 bits
}

func (x xtsCipher) decrypt(buf []byte, sector uint64) {
	if x.plain32 {
		sector &= 0xffffffff
	}
	if len(buf) < aes.BlockSize {
		return
	}
	// The first tweak is the sector number encrypted under k2. It is
	// computed in the sector's own first block, put back afterwards: a
	// local array would escape to the heap through the cipher.Block
	// interface, an allocation per sector.
	c0, c1 := binary.LittleEndian.Uint64(buf), binary.LittleEndian.Uint64(buf[8:])
	binary.LittleEndian.PutUint64(buf, sector)
	binary.LittleEndian.PutUint64(buf[8:], 0)
	x.k2.Encrypt(buf[:aes.BlockSize], buf[:aes.BlockSize])
	t0, t1 := binary.LittleEndian.Uint64(buf), binary.LittleEndian.Uint64(buf[8:])
	binary.LittleEndian.PutUint64(buf, c0)
	binary.LittleEndian.PutUint64(buf[8:], c1)
	// Three passes: the tweaks XORed in, the blocks decrypted in a tight
	// loop (independent AES calls overlap in the CPU), the tweaks XORed
	// out.
	xorTweaks(buf, t0, t1)
	for i := 0; i+aes.BlockSize <= len(buf); i += aes.BlockSize {
		b := buf[i : i+aes.BlockSize : i+aes.BlockSize]
		x.k1.Decrypt(b, b)
	}
	xorTweaks(buf, t0, t1)
}

// xorTweaks XORs into each 16-byte block of buf its XTS tweak, the first
// being (t0, t1): each next one is the last times x in GF(2^128), reduced
// by x^128 + x^7 + x^2 + x + 1 (0x87) when a bit carries out.
func xorTweaks(buf []byte, t0, t1 uint64) {
	for i := 0; i+aes.BlockSize <= len(buf); i += aes.BlockSize {
		b := buf[i : i+aes.BlockSize : i+aes.BlockSize]
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^t0)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^t1)
		carry := t1 >> 63
		t1 = t1<<1 | t0>>63
		t0 = t0<<1 ^ 0x87&-carry
	}
}

type cbcCipher struct {
	b     cipher.Block
	essiv cipher.Block
	iv    string
}

// decrypt undoes CBC from the last block to the first, in place: each
// block's plaintext is its decryption XOR the ciphertext before it, which
// is still there when going backwards. No decrypter object, no IV array
// (either would be an allocation per sector): the IV is made in the
// first block once it has been decrypted and its words put aside.
func (c *cbcCipher) decrypt(buf []byte, sector uint64) {
	n := len(buf) / aes.BlockSize * aes.BlockSize
	if n == 0 {
		return
	}
	for i := n - aes.BlockSize; i > 0; i -= aes.BlockSize {
		b := buf[i : i+aes.BlockSize : i+aes.BlockSize]
		prev := buf[i-aes.BlockSize : i : i]
		c.b.Decrypt(b, b)
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^binary.LittleEndian.Uint64(prev))
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^binary.LittleEndian.Uint64(prev[8:]))
	}
	b := buf[:aes.BlockSize:aes.BlockSize]
	c.b.Decrypt(b, b)
	d0, d1 := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
	if c.iv == "plain" {
		sector &= 0xffffffff
	}
	binary.LittleEndian.PutUint64(b, sector) // plain, plain64, and essiv's input
	binary.LittleEndian.PutUint64(b[8:], 0)
	if c.essiv != nil {
		c.essiv.Encrypt(b, b)
	}
	binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^d0)
	binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^d1)
}
