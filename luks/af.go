package luks

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"hash"
	"strings"
)

// newHash gives the hash cryptsetup names (LUKS1's hashSpec, LUKS2's
// "hash" fields), or nil for one this package does not compute.
func newHash(name string) func() hash.Hash {
	switch strings.ToLower(name) {
	case "sha1":
		return sha1.New
	case "sha256":
		return sha256.New
	case "sha512":
		return sha512.New
	}
	return nil
}

// afMerge undoes the anti-forensic split: the key material is stripes
// blocks of keyBytes; each block but the last is XORed into a running
// buffer that is then diffused, and the last block XORed with the result
// is the key.
func afMerge(material []byte, keyBytes, stripes int, h func() hash.Hash) []byte {
	d := make([]byte, keyBytes)
	for i := 0; i < stripes-1; i++ {
		xorInto(d, material[i*keyBytes:(i+1)*keyBytes])
		diffuse(d, h)
	}
	xorInto(d, material[(stripes-1)*keyBytes:stripes*keyBytes])
	return d
}

// diffuse replaces each digest-sized piece of b (the last one may be
// shorter) by the hash of the piece's big-endian index and the piece.
func diffuse(b []byte, h func() hash.Hash) {
	hh := h()
	size := hh.Size()
	var idx [4]byte
	for i, off := 0, 0; off < len(b); i, off = i+1, off+size {
		piece := b[off:min(off+size, len(b))]
		hh.Reset()
		binary.BigEndian.PutUint32(idx[:], uint32(i))
		hh.Write(idx[:])
		hh.Write(piece)
		copy(piece, hh.Sum(nil))
	}
}

func xorInto(dst, src []byte) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}
