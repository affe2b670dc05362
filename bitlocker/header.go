package bitlocker

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Kind tells which generation of BitLocker wrote a volume.
type Kind int

const (
	// KindVista is a volume encrypted by Windows Vista (metadata version 1):
	// an NTFS boot sector with "-FVE-FS-" as its OEM id and the metadata
	// found through a cluster number.
	KindVista Kind = iota + 1
	// KindWindows7 is a volume encrypted by Windows 7 or later (metadata
	// version 2), fixed or removable.
	KindWindows7
	// KindToGo is a BitLocker To Go volume: a FAT32 "discovery volume" boot
	// sector that carries the metadata offsets further down.
	KindToGo
)

func (k Kind) String() string {
	switch k {
	case KindVista:
		return "Windows Vista"
	case KindWindows7:
		return "Windows 7+"
	case KindToGo:
		return "BitLocker To Go"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Offsets in the volume header (the first sector of a BitLocker volume).
const (
	hdrOEM        = 3     // 8-byte OEM id: "-FVE-FS-" or "MSWIN4.1"
	hdrSectorSize = 0x0b  // bytes per sector, u16
	hdrCluster    = 0x0d  // sectors per cluster, u8
	hdrVistaLCN   = 0x38  // Vista: cluster of the first metadata copy, u64
	hdrGUID       = 0xa0  // Windows 7+: the BitLocker identifier GUID
	hdrOffsets    = 0xb0  // Windows 7+: three metadata offsets, u64 each
	hdrToGoGUID   = 0x1a8 // To Go: the identifier GUID
	hdrToGoOffs   = 0x1b8 // To Go: three metadata offsets
	headerLen     = 512
)

var (
	sigFVE  = []byte("-FVE-FS-")
	sigToGo = []byte("MSWIN4.1")
	// The identifier GUIDs as they lie on disk. "Normal" marks a volume
	// encrypted as a whole; EOW (encrypt on write) marks one whose free
	// space was never encrypted.
	guidNormal = []byte{0x3b, 0xd6, 0x67, 0x49, 0x29, 0x2e, 0xd8, 0x4a, 0x83, 0x99, 0xf6, 0xa3, 0x39, 0xe3, 0xd0, 0x01}
	guidEOW    = []byte{0x3b, 0x4d, 0xa8, 0x92, 0x80, 0xdd, 0x0e, 0x4d, 0x9e, 0x4e, 0xb1, 0xe3, 0x28, 0x4e, 0xae, 0xd8}
)

// volumeHeader is what the first sector tells.
type volumeHeader struct {
	kind       Kind
	sectorSize int
	cluster    int64 // bytes per cluster (Vista only)
	offsets    [3]int64
	eow        bool  // the identifier says encrypt-on-write
	ntfsSize   int64 // Vista: the NTFS volume size the boot sector gives, backup boot sector included
}

// Detect reports whether the first sector of a volume carries a BitLocker
// signature. It reads 512 bytes and parses nothing else, so it is cheap
// enough for filesystem detection.
func Detect(r io.ReaderAt, size int64) bool {
	if size < headerLen {
		return false
	}
	var b [headerLen]byte
	if _, err := r.ReadAt(b[:], 0); err != nil {
		return false
	}
	_, err := parseHeader(b[:])
	return err == nil
}

// parseHeader reads the volume header. A plain FAT32 volume also says
// "MSWIN4.1": only the BitLocker GUID at its To Go offset marks it.
func parseHeader(b []byte) (*volumeHeader, error) {
	oem := b[hdrOEM : hdrOEM+8]
	h := &volumeHeader{sectorSize: int(binary.LittleEndian.Uint16(b[hdrSectorSize:]))}
	switch {
	case bytes.Equal(oem, sigFVE):
		if lcn := binary.LittleEndian.Uint64(b[hdrVistaLCN:]); lcn != 0 {
			h.kind = KindVista
			h.cluster = int64(b[hdrCluster]) * int64(h.sectorSize)
			if h.cluster == 0 || lcn > 1<<40 {
				return nil, formatErr(hdrVistaLCN, "Vista metadata cluster %d with %d-byte clusters", lcn, h.cluster)
			}
			h.offsets[0] = int64(lcn) * h.cluster
			if n := binary.LittleEndian.Uint64(b[0x28:]); n > 0 && n < 1<<40 {
				h.ntfsSize = int64(n+1) * int64(h.sectorSize)
			}
		} else {
			h.kind = KindWindows7
			h.eow = bytes.Equal(b[hdrGUID:hdrGUID+16], guidEOW)
			readOffsets(b[hdrOffsets:], &h.offsets)
		}
	case bytes.Equal(oem, sigToGo):
		g := b[hdrToGoGUID : hdrToGoGUID+16]
		if !bytes.Equal(g, guidNormal) && !bytes.Equal(g, guidEOW) {
			return nil, ErrNotBitLocker
		}
		h.kind = KindToGo
		h.eow = bytes.Equal(g, guidEOW)
		readOffsets(b[hdrToGoOffs:], &h.offsets)
	default:
		return nil, ErrNotBitLocker
	}
	if h.sectorSize == 0 {
		h.sectorSize = 512 // as cryptsetup: some headers leave it unset
	}
	switch h.sectorSize {
	case 512, 1024, 2048, 4096:
	default:
		return nil, kindErr(ErrUnsupported, hdrSectorSize, "sector size %d", h.sectorSize)
	}
	return h, nil
}

func readOffsets(b []byte, out *[3]int64) {
	for i := range out {
		v := binary.LittleEndian.Uint64(b[8*i:])
		if v > 1<<62 {
			v = 1 << 62 // checked against the volume size later; kept positive here
		}
		out[i] = int64(v)
	}
}
