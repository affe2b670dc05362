package bitlocker

import (
	"crypto/aes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// errTag is the internal signal that an AES-CCM tag did not verify: the
// key was wrong, or the datum was damaged.
var errTag = errors.New("bitlocker: AES-CCM tag mismatch")

// ccmOpen decrypts an AES-CCM datum as BitLocker writes them (RFC 3610
// with a 12-byte nonce, so a 3-byte counter, a 16-byte tag and no
// associated data; the encrypted tag comes before the payload). The
// plaintext is returned only when the tag verifies. Go's x/crypto has no
// CCM, and the payloads are keys of a few dozen bytes, so a plain
// implementation over crypto/aes is enough.
func ccmOpen(key []byte, c *ccm) ([]byte, error) {
	if len(c.data) > 1<<16 {
		return nil, errTag // far beyond any key datum; the 3-byte length could hold it, but nothing real is this big
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	var ctr, ks [16]byte
	ctr[0] = 15 - 12 - 1 // L-1 with L = 3 counter bytes
	copy(ctr[1:13], c.nonce[:])
	out := make([]byte, len(c.data))
	for i := 0; i < len(out); i += 16 {
		binary.BigEndian.PutUint16(ctr[14:], uint16(i/16+1))
		ctr[13] = byte((i/16 + 1) >> 16)
		b.Encrypt(ks[:], ctr[:])
		subtle.XORBytes(out[i:], c.data[i:], ks[:])
	}
	// The tag is the CBC-MAC of B0 and the plaintext, encrypted with
	// counter block 0.
	var mac, blk [16]byte
	blk[0] = byte((16-2)/2)<<3 | byte(3-1) // no associated data, M = 16, L = 3
	copy(blk[1:13], c.nonce[:])
	blk[13], blk[14], blk[15] = byte(len(out)>>16), byte(len(out)>>8), byte(len(out))
	b.Encrypt(mac[:], blk[:])
	for i := 0; i < len(out); i += 16 {
		blk = [16]byte{}
		copy(blk[:], out[i:])
		subtle.XORBytes(mac[:], mac[:], blk[:])
		b.Encrypt(mac[:], mac[:])
	}
	ctr[13], ctr[14], ctr[15] = 0, 0, 0
	b.Encrypt(ks[:], ctr[:])
	subtle.XORBytes(mac[:], mac[:], ks[:])
	if subtle.ConstantTimeCompare(mac[:], c.tag[:]) != 1 {
		clear(out)
		return nil, errTag
	}
	return out, nil
}

// ccmSeal is ccmOpen's inverse; tests use it to build metadata.
func ccmSeal(key []byte, nonce [12]byte, plain []byte) (*ccm, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	c := &ccm{nonce: nonce, data: make([]byte, len(plain))}
	var mac, blk, ctr, ks [16]byte
	blk[0] = byte((16-2)/2)<<3 | byte(3-1)
	copy(blk[1:13], nonce[:])
	blk[13], blk[14], blk[15] = byte(len(plain)>>16), byte(len(plain)>>8), byte(len(plain))
	b.Encrypt(mac[:], blk[:])
	for i := 0; i < len(plain); i += 16 {
		blk = [16]byte{}
		copy(blk[:], plain[i:])
		subtle.XORBytes(mac[:], mac[:], blk[:])
		b.Encrypt(mac[:], mac[:])
	}
	ctr[0] = 2
	copy(ctr[1:13], nonce[:])
	b.Encrypt(ks[:], ctr[:])
	subtle.XORBytes(c.tag[:], mac[:], ks[:])
	for i := 0; i < len(plain); i += 16 {
		binary.BigEndian.PutUint16(ctr[14:], uint16(i/16+1))
		ctr[13] = byte((i/16 + 1) >> 16)
		b.Encrypt(ks[:], ctr[:])
		subtle.XORBytes(c.data[i:], plain[i:], ks[:])
	}
	return c, nil
}
