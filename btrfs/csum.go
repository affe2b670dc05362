package btrfs

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"hash/crc32"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/crypto/blake2b"
)

// Checksum algorithms (btrfs_super_block.csum_type).
const (
	CsumCRC32C   = 0
	CsumXXHash64 = 1
	CsumSHA256   = 2
	CsumBLAKE2b  = 3
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// csumSize is the number of meaningful bytes of a checksum of each type;
// the on-disk slot in headers is always 32 bytes.
func csumSize(typ uint16) int {
	switch typ {
	case CsumCRC32C:
		return 4
	case CsumXXHash64:
		return 8
	case CsumSHA256, CsumBLAKE2b:
		return 32
	}
	return 0
}

func csumName(typ uint16) string {
	switch typ {
	case CsumCRC32C:
		return "crc32c"
	case CsumXXHash64:
		return "xxhash64"
	case CsumSHA256:
		return "sha256"
	case CsumBLAKE2b:
		return "blake2b"
	}
	return "unknown"
}

// sum appends the checksum of b of the given type to dst.
func sum(dst []byte, typ uint16, b []byte) []byte {
	switch typ {
	case CsumCRC32C:
		return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(b, castagnoli))
	case CsumXXHash64:
		return binary.LittleEndian.AppendUint64(dst, xxhash.Sum64(b))
	case CsumSHA256:
		s := sha256.Sum256(b)
		return append(dst, s[:]...)
	case CsumBLAKE2b:
		s := blake2b.Sum256(b)
		return append(dst, s[:]...)
	}
	return dst
}

// csumOK reports whether want (at least csumSize bytes) is the checksum of b.
func csumOK(typ uint16, want, b []byte) bool {
	var buf [32]byte
	got := sum(buf[:0], typ, b)
	return len(want) >= len(got) && bytes.Equal(got, want[:len(got)])
}
