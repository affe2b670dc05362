package vhdx

import (
	"encoding/binary"
	"hash/crc32"
)

// Fixed positions and sizes of the VHDX layout ([MS-VHDX] 2.1).
const (
	kib = 1 << 10
	mib = 1 << 20

	identifierOff   = 0
	header1Off      = 64 * kib
	header2Off      = 128 * kib
	headerSize      = 4 * kib
	regionTable1Off = 192 * kib
	regionTable2Off = 256 * kib
	regionTableSize = 64 * kib
	metadataTableSz = 64 * kib

	logSectorSize      = 4 * kib
	sectorBitmapBlock  = 1 * mib
	sectorsPerBitmapBk = 1 << 23 // bits in one 1 MiB sector bitmap block

	minBlockSize   = 1 * mib
	maxBlockSize   = 256 * mib
	maxVirtualSize = 64 << 40 // 64 TiB, the spec's limit
)

// Well-known GUIDs ([MS-VHDX] 2.3 and 2.6.2).
var (
	guidBATRegion      = mustGUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
	guidMetadataRegion = mustGUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")

	guidFileParameters     = mustGUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
	guidVirtualDiskSize    = mustGUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
	guidVirtualDiskID      = mustGUID("BECA12AB-B2E6-4523-93EF-C309E000C746")
	guidLogicalSectorSize  = mustGUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
	guidPhysicalSectorSize = mustGUID("CDA348C7-445D-4471-9CC9-E9885251C556")
	guidParentLocator      = mustGUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
	guidVHDXParentType     = mustGUID("B04AEFB7-D19E-4A81-B789-25B8E9445913")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crcWithHole computes CRC-32C of b with the 4 bytes at off taken as zero.
func crcWithHole(b []byte, off int) uint32 {
	c := crc32.Update(0, castagnoli, b[:off])
	c = crc32.Update(c, castagnoli, []byte{0, 0, 0, 0})
	return crc32.Update(c, castagnoli, b[off+4:])
}

// putCRC stores the CRC-32C of b (checksum field zeroed) at off.
func putCRC(b []byte, off int) {
	binary.LittleEndian.PutUint32(b[off:], 0)
	binary.LittleEndian.PutUint32(b[off:], crc32.Checksum(b, castagnoli))
}

func getGUID(b []byte) GUID {
	var g GUID
	copy(g[:], b)
	return g
}

// readFull reads exactly len(p) bytes at off, reporting a short file as a
// format fault (the structure claims bytes the file does not have).
func readFull(r interface {
	ReadAt([]byte, int64) (int, error)
}, p []byte, off int64, size int64, what string) error {
	if off < 0 || off > size || int64(len(p)) > size-off {
		return formatErr(off, "%s (%d bytes) lies past the end of the file (%d bytes)", what, len(p), size)
	}
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = errShortRead
	}
	return &ioError{off: off, what: what, err: err}
}
