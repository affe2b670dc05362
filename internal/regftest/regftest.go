// Package regftest makes registry hive files for tests: a minimal hive
// that hivexsh (libhivex-bin), which cannot create one, starts from.
package regftest

import "encoding/binary"

// MinimalHive returns a hive of one hbin holding the root key "ROOT", its
// security record and one free cell: what hivexsh needs to start from
// (it does not create hives).
func MinimalHive() []byte {
	le := binary.LittleEndian
	b := make([]byte, 8192)
	copy(b, "regf")
	le.PutUint32(b[4:], 1)
	le.PutUint32(b[8:], 1)
	le.PutUint32(b[20:], 1) // major
	le.PutUint32(b[24:], 5) // minor
	le.PutUint32(b[32:], 1) // format
	le.PutUint32(b[36:], 0x20)
	le.PutUint32(b[40:], 4096)
	le.PutUint32(b[44:], 1)
	PutChecksum(b)
	h := b[4096:]
	copy(h, "hbin")
	le.PutUint32(h[8:], 4096)
	// The root key at 0x20: 76 bytes and its name, in a cell of 88.
	nk := h[0x20:]
	le.PutUint32(nk, uint32(0xFFFFFFFF-88+1))
	k := nk[4:]
	copy(k, "nk")
	le.PutUint16(k[2:], 0x2C) // hive entry, no delete, Latin-1 name
	for _, o := range []int{16, 28, 32, 40, 48} {
		le.PutUint32(k[o:], 0xFFFFFFFF)
	}
	le.PutUint32(k[44:], 0x78) // security record
	le.PutUint16(k[72:], 4)
	copy(k[76:], "ROOT")
	// The security record at 0x78: a self-relative descriptor of 20 bytes.
	sk := h[0x78:]
	le.PutUint32(sk, uint32(0xFFFFFFFF-48+1))
	s := sk[4:]
	copy(s, "sk")
	le.PutUint32(s[4:], 0x78)
	le.PutUint32(s[8:], 0x78)
	le.PutUint32(s[12:], 1)
	le.PutUint32(s[16:], 20)
	s[20] = 1                    // revision
	le.PutUint16(s[22:], 0x8000) // self-relative
	// The rest of the bin is one free cell.
	le.PutUint32(h[0xA8:], uint32(4096-0xA8))
	return b[:8192]
}

// PutChecksum sets the base block checksum of a hive file.
func PutChecksum(b []byte) {
	var sum uint32
	for i := 0; i < 508; i += 4 {
		sum ^= binary.LittleEndian.Uint32(b[i:])
	}
	binary.LittleEndian.PutUint32(b[508:], sum)
}
