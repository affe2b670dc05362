package vhdx

import (
	"bytes"
	"encoding/binary"
	"time"
)

// Legacy VHD ("Virtual Hard Disk Image Format Specification" 1.0) keeps
// its identity in a 512-byte big-endian footer at the end of the file, with
// a copy at offset 0 for dynamic and differencing disks.

const (
	vhdFooterSize  = 512
	vhdOldFooter   = 511 // footer length written before Virtual PC 2004
	vhdSector      = 512
	vhdFooterCsOff = 64 // offset of the checksum field in the footer
	vhdNoOffset    = ^uint64(0)

	vhdTypeFixed        = 2
	vhdTypeDynamic      = 3
	vhdTypeDifferencing = 4

	// vhdMaxSize bounds the virtual size well above what any VHD tool
	// makes (2040 GiB) and far enough below 2^63 that sums cannot overflow.
	vhdMaxSize = int64(1) << 48
)

var (
	vhdFooterCookie = []byte("conectix")
	// vhdEpoch is the zero of every VHD time stamp.
	vhdEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// vhdFooter is the decoded hard disk footer. Reserved bytes are not kept:
// the encoder writes them as zeros.
type vhdFooter struct {
	Features       uint32
	Version        uint32 // 0x00010000 for every known writer
	DataOffset     uint64 // dynamic header offset; all ones for fixed disks
	Timestamp      uint32 // seconds since 2000-01-01 UTC
	CreatorApp     [4]byte
	CreatorVersion uint32
	CreatorOS      [4]byte
	OriginalSize   uint64
	CurrentSize    uint64
	Cylinders      uint16
	Heads          uint8
	SectorsPerTrk  uint8
	DiskType       uint32
	Checksum       uint32
	// UniqueID is kept as the 16 stored bytes. Windows writes its GUIDs in
	// the mixed-endian layout our GUID type uses, so GUID.String matches
	// what Windows shows; libvhdi prints the bytes in stored order.
	UniqueID   GUID
	SavedState uint8
}

// vhdChecksum is the one's complement of the byte sum of b, skipping the
// four checksum bytes at csOff.
func vhdChecksum(b []byte, csOff int) uint32 {
	var sum uint32
	for i, c := range b {
		if i >= csOff && i < csOff+4 {
			continue
		}
		sum += uint32(c)
	}
	return ^sum
}

// decodeVHDFooter parses a footer of 511 or 512 bytes. It checks the cookie
// only; the caller checks the checksum so it can fall back to the copy.
func decodeVHDFooter(b []byte) (vhdFooter, bool) {
	var f vhdFooter
	if len(b) < vhdOldFooter || !bytes.Equal(b[0:8], vhdFooterCookie) {
		return f, false
	}
	be := binary.BigEndian
	f.Features = be.Uint32(b[8:])
	f.Version = be.Uint32(b[12:])
	f.DataOffset = be.Uint64(b[16:])
	f.Timestamp = be.Uint32(b[24:])
	copy(f.CreatorApp[:], b[28:32])
	f.CreatorVersion = be.Uint32(b[32:])
	copy(f.CreatorOS[:], b[36:40])
	f.OriginalSize = be.Uint64(b[40:])
	f.CurrentSize = be.Uint64(b[48:])
	f.Cylinders = be.Uint16(b[56:])
	f.Heads = b[58]
	f.SectorsPerTrk = b[59]
	f.DiskType = be.Uint32(b[60:])
	f.Checksum = be.Uint32(b[vhdFooterCsOff:])
	copy(f.UniqueID[:], b[68:84])
	f.SavedState = b[84]
	return f, true
}

// checksumOK reports whether the stored checksum matches the bytes b the
// footer was decoded from.
func (f *vhdFooter) checksumOK(b []byte) bool {
	return vhdChecksum(b, vhdFooterCsOff) == f.Checksum
}

// encode returns the 512-byte footer with a freshly computed checksum
// (which is also stored back into f).
func (f *vhdFooter) encode() []byte {
	b := make([]byte, vhdFooterSize)
	be := binary.BigEndian
	copy(b[0:8], vhdFooterCookie)
	be.PutUint32(b[8:], f.Features)
	be.PutUint32(b[12:], f.Version)
	be.PutUint64(b[16:], f.DataOffset)
	be.PutUint32(b[24:], f.Timestamp)
	copy(b[28:32], f.CreatorApp[:])
	be.PutUint32(b[32:], f.CreatorVersion)
	copy(b[36:40], f.CreatorOS[:])
	be.PutUint64(b[40:], f.OriginalSize)
	be.PutUint64(b[48:], f.CurrentSize)
	be.PutUint16(b[56:], f.Cylinders)
	b[58] = f.Heads
	b[59] = f.SectorsPerTrk
	be.PutUint32(b[60:], f.DiskType)
	copy(b[68:84], f.UniqueID[:])
	b[84] = f.SavedState
	f.Checksum = vhdChecksum(b, vhdFooterCsOff)
	be.PutUint32(b[vhdFooterCsOff:], f.Checksum)
	return b
}

// chsSize is the disk size the CHS geometry describes. qemu uses it instead
// of CurrentSize for images whose creator is not on its list of
// "size from footer" writers (Virtual PC, old qemu); this package always
// uses CurrentSize, as Windows and libvhdi do. The difference only ever
// cuts off the tail of the disk, which Virtual PC guests never see.
func (f *vhdFooter) chsSize() int64 {
	return int64(f.Cylinders) * int64(f.Heads) * int64(f.SectorsPerTrk) * vhdSector
}

// vhdTime converts a VHD time stamp.
func vhdTime(s uint32) time.Time {
	return vhdEpoch.Add(time.Duration(s) * time.Second)
}

// vhdStamp converts a time to a VHD time stamp, clamped to what fits.
func vhdStamp(t time.Time) uint32 {
	if t.Before(vhdEpoch) {
		return 0
	}
	s := t.Sub(vhdEpoch) / time.Second
	if s > 0xffffffff {
		return 0xffffffff
	}
	return uint32(s)
}

// vhdGeometry computes the CHS geometry for a disk of the given number of
// sectors with the algorithm of the specification's appendix, so Virtual PC
// and BIOS-style readers see the same size as everyone else when possible.
func vhdGeometry(sectors int64) (cyl uint16, heads, spt uint8) {
	const maxCHS = 65535 * 16 * 255
	if sectors > maxCHS {
		sectors = maxCHS
	}
	var h, s, cth int64
	if sectors >= 65535*16*63 {
		s, h = 255, 16
		cth = sectors / s
	} else {
		s = 17
		cth = sectors / s
		h = max((cth+1023)/1024, 4)
		if cth >= h*1024 || h > 16 {
			s, h = 31, 16
			cth = sectors / s
		}
		if cth >= h*1024 {
			s, h = 63, 16
			cth = sectors / s
		}
	}
	return uint16(cth / h), uint8(h), uint8(s)
}
