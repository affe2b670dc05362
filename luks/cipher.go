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
	var t [aes.BlockSize]byte
	binary.LittleEndian.PutUint64(t[:8], sector)
	x.k2.Encrypt(t[:], t[:])
	t0, t1 := binary.LittleEndian.Uint64(t[:8]), binary.LittleEndian.Uint64(t[8:])
	var blk [aes.BlockSize]byte
	for i := 0; i+aes.BlockSize <= len(buf); i += aes.BlockSize {
		b := buf[i : i+aes.BlockSize]
		binary.LittleEndian.PutUint64(blk[:8], binary.LittleEndian.Uint64(b[:8])^t0)
		binary.LittleEndian.PutUint64(blk[8:], binary.LittleEndian.Uint64(b[8:])^t1)
		x.k1.Decrypt(blk[:], blk[:])
		binary.LittleEndian.PutUint64(b[:8], binary.LittleEndian.Uint64(blk[:8])^t0)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(blk[8:])^t1)
		// The next tweak: times x in GF(2^128), reduced by
		// x^128 + x^7 + x^2 + x + 1 (0x87) when a bit carries out.
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

func (c *cbcCipher) decrypt(buf []byte, sector uint64) {
	var iv [aes.BlockSize]byte
	switch c.iv {
	case "plain":
		binary.LittleEndian.PutUint32(iv[:], uint32(sector))
	default: // plain64, and essiv's input
		binary.LittleEndian.PutUint64(iv[:], sector)
	}
	if c.essiv != nil {
		c.essiv.Encrypt(iv[:], iv[:])
	}
	cipher.NewCBCDecrypter(c.b, iv[:]).CryptBlocks(buf, buf)
}
