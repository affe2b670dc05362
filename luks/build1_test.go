package luks

import (
	"crypto/aes"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"

	"golang.org/x/crypto/xts"
)

// buildLUKS1 writes a LUKS1 volume by hand, as cryptsetup lays one out:
// aes-xts-plain64 with a 256-bit key, PBKDF2-SHA256 of 1000 iterations,
// one key slot of 4000 stripes opened by pass, and data, sector-aligned,
// encrypted after the header. The tests' other volumes come from
// cryptsetup itself; this one needs no tool, for the example.
func buildLUKS1(pass string, data []byte, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	const keyBytes, stripes, iters = 32, 4000, 1000
	const material = 8 * sectorSize // the slot's area, at sector 8
	areaLen := int(roundUp(keyBytes*stripes, sectorSize))
	payload := int(roundUp(int64(material+areaLen), 4096))
	img := make([]byte, payload+len(data))
	h := img[:luks1HeaderSize]
	copy(h, magic1)
	binary.BigEndian.PutUint16(h[6:], 1)
	copy(h[8:], "aes")
	copy(h[40:], "xts-plain64")
	copy(h[72:], "sha256")
	binary.BigEndian.PutUint32(h[104:], uint32(payload/sectorSize))
	binary.BigEndian.PutUint32(h[108:], keyBytes)
	mk := random(keyBytes)
	salt := random(32)
	dg, _ := pbkdf2.Key(sha256.New, string(mk), salt, iters, 20)
	copy(h[112:], dg)
	copy(h[132:], salt)
	binary.BigEndian.PutUint32(h[164:], iters)
	copy(h[168:], "0f6b2a1c-5d3e-4f70-8a9b-0c1d2e3f4a5b")
	for i := range luks1Slots {
		binary.BigEndian.PutUint32(h[208+48*i:], 0x0000DEAD)
	}
	s := h[208:]
	slotSalt := random(32)
	binary.BigEndian.PutUint32(s, luks1SlotActive)
	binary.BigEndian.PutUint32(s[4:], iters)
	copy(s[8:], slotSalt)
	binary.BigEndian.PutUint32(s[40:], material/sectorSize)
	binary.BigEndian.PutUint32(s[44:], stripes)

	// The anti-forensic split: stripes-1 random blocks, and a last one
	// that merges with them into the volume key.
	split := img[material : material+areaLen]
	d := make([]byte, keyBytes)
	for i := 0; i < stripes-1; i++ {
		copy(split[i*keyBytes:], random(keyBytes))
		xorInto(d, split[i*keyBytes:(i+1)*keyBytes])
		diffuse(d, sha256.New)
	}
	last := split[(stripes-1)*keyBytes : stripes*keyBytes]
	copy(last, mk)
	xorInto(last, d)
	slotKey, _ := pbkdf2.Key(sha256.New, pass, slotSalt, iters, keyBytes)
	encrypt(split, slotKey, 0, sectorSize)
	copy(img[payload:], data)
	encrypt(img[payload:], mk, 0, sectorSize)
	return img
}

func encrypt(b, key []byte, first uint64, ss int) {
	c, err := xts.NewCipher(aes.NewCipher, key)
	if err != nil {
		panic(err)
	}
	for i := 0; i+ss <= len(b); i += ss {
		c.Encrypt(b[i:i+ss], b[i:i+ss], first+uint64(i/ss))
	}
}
