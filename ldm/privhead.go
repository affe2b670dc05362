package ldm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// SectorSize is the sector the database counts in.
const SectorSize = 512

const (
	mbrTypeLDM   = 0x42
	mbrTypeGPT   = 0xee
	privheadMBR  = 6 // the first PRIVHEAD's sector on an MBR disk
	maxGPTParts  = 4096
	maxConfig    = 16 << 20 // the database is 1 MiB; a larger one is refused
	privheadSize = 512
)

// gptLDMMetadata is the on-disk form of the GPT type GUID of the "LDM
// metadata" partition, 5808C8AA-7E8F-42E0-85D2-E1E90434CFB3.
var gptLDMMetadata = []byte{0xaa, 0xc8, 0x08, 0x58, 0x8f, 0x7e, 0xe0, 0x42, 0x85, 0xd2, 0xe1, 0xe9, 0x04, 0x34, 0xcf, 0xb3}

// privhead is the part of a PRIVHEAD this package uses. Sector counts are
// kept as read; Disk converts them to bytes once checked.
type privhead struct {
	seq                     uint32
	major, minor            uint16
	disk, host, group, name string
	dataStart, dataSize     uint64
	configStart, configSize uint64
}

// findPrivhead returns the byte offset of the disk's PRIVHEAD and the
// table that told where it lies ("mbr" or "gpt").
func findPrivhead(r io.ReaderAt, size int64) (int64, string, error) {
	mbr := make([]byte, SectorSize)
	if err := readAt(r, size, mbr, 0); err != nil {
		return 0, "", fmt.Errorf("ldm: reading the MBR: %w", err)
	}
	if mbr[510] != 0x55 || mbr[511] != 0xaa {
		return 0, "", &FormatError{Off: 510, What: "no MBR signature", Err: ErrNotLDM}
	}
	gpt := false
	for i := range 4 {
		switch mbr[446+16*i+4] {
		case mbrTypeLDM:
			return privheadMBR * SectorSize, "mbr", nil
		case mbrTypeGPT:
			gpt = true
		}
	}
	if !gpt {
		return 0, "", &FormatError{Off: 446, What: "no partition of type 0x42 or 0xee", Err: ErrNotLDM}
	}
	off, err := gptPrivhead(r, size, SectorSize)
	if err != nil && size >= 2*SectorSize {
		// The primary GPT header is damaged: the backup at the end of
		// the disk lists the same partitions.
		if off2, err2 := gptPrivhead(r, size, size/SectorSize*SectorSize-SectorSize); err2 == nil {
			return off2, "gpt", nil
		}
	}
	return off, "gpt", err
}

// gptPrivhead finds the "LDM metadata" partition through the GPT header
// at byte hdrOff: the PRIVHEAD is its last sector.
func gptPrivhead(r io.ReaderAt, size, hdrOff int64) (int64, error) {
	h := make([]byte, SectorSize)
	if err := readAt(r, size, h, hdrOff); err != nil {
		return 0, fmt.Errorf("ldm: reading the GPT header: %w", err)
	}
	if string(h[:8]) != "EFI PART" {
		return 0, &FormatError{Off: hdrOff, What: "no GPT header", Err: ErrNotLDM}
	}
	lba := binary.LittleEndian.Uint64(h[72:])
	count := binary.LittleEndian.Uint32(h[80:])
	esize := binary.LittleEndian.Uint32(h[84:])
	if count > maxGPTParts || esize < 128 || esize > 4096 || esize%8 != 0 || lba > uint64(size/SectorSize) {
		return 0, formatErr(hdrOff+72, "GPT of %d entries of %d bytes at sector %d", count, esize, lba)
	}
	table := make([]byte, int(count)*int(esize))
	if err := readAt(r, size, table, int64(lba)*SectorSize); err != nil {
		return 0, fmt.Errorf("ldm: reading the GPT entries: %w", err)
	}
	for i := 0; i < int(count); i++ {
		e := table[i*int(esize):]
		if !bytes.Equal(e[:16], gptLDMMetadata) {
			continue
		}
		first, last := binary.LittleEndian.Uint64(e[32:]), binary.LittleEndian.Uint64(e[40:])
		if last < first || last >= uint64(size/SectorSize) {
			return 0, formatErr(int64(lba)*SectorSize+int64(i)*int64(esize)+32, "LDM metadata partition of sectors %d-%d on a disk of %d", first, last, size/SectorSize)
		}
		return int64(last) * SectorSize, nil
	}
	return 0, &FormatError{Off: int64(lba) * SectorSize, What: "no LDM metadata partition in the GPT", Err: ErrNotLDM}
}

// parsePrivhead decodes the PRIVHEAD sector b, read at byte off.
func parsePrivhead(b []byte, off int64) (privhead, error) {
	var p privhead
	if string(b[:8]) != "PRIVHEAD" {
		return p, &FormatError{Off: off, What: "no PRIVHEAD", Err: ErrNotLDM}
	}
	be := binary.BigEndian
	p.seq = be.Uint32(b[0x08:])
	p.major, p.minor = be.Uint16(b[0x0c:]), be.Uint16(b[0x0e:])
	if p.major != 2 {
		return p, unsupported(off+0x0c, "PRIVHEAD version %d.%d", p.major, p.minor)
	}
	p.disk = cString(b[0x30:0x70])
	p.host = cString(b[0x70:0xb0])
	p.group = cString(b[0xb0:0xf0])
	p.name = cString(b[0xf0:0x110])
	p.dataStart, p.dataSize = be.Uint64(b[0x11b:]), be.Uint64(b[0x123:])
	p.configStart, p.configSize = be.Uint64(b[0x12b:]), be.Uint64(b[0x133:])
	if !isGUID(p.disk) {
		return p, formatErr(off+0x30, "PRIVHEAD disk GUID %q", p.disk)
	}
	if !isGUID(p.group) {
		return p, formatErr(off+0xb0, "PRIVHEAD disk group GUID %q", p.group)
	}
	p.disk, p.group, p.host = strings.ToLower(p.disk), strings.ToLower(p.group), strings.ToLower(p.host)
	return p, nil
}

// encodePrivhead is parsePrivhead's inverse, for the round-trip test and
// the fuzz seeds; the fields this package does not read stay zero.
func encodePrivhead(p privhead) []byte {
	b := make([]byte, privheadSize)
	be := binary.BigEndian
	copy(b, "PRIVHEAD")
	be.PutUint32(b[0x08:], p.seq)
	be.PutUint16(b[0x0c:], p.major)
	be.PutUint16(b[0x0e:], p.minor)
	copy(b[0x30:0x70], p.disk)
	copy(b[0x70:0xb0], p.host)
	copy(b[0xb0:0xf0], p.group)
	copy(b[0xf0:0x110], p.name)
	be.PutUint64(b[0x11b:], p.dataStart)
	be.PutUint64(b[0x123:], p.dataSize)
	be.PutUint64(b[0x12b:], p.configStart)
	be.PutUint64(b[0x133:], p.configSize)
	return b
}

// cString is b up to its first NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// isGUID reports whether s is a GUID as text (36 characters, dashes at
// 8, 13, 18 and 23, hex digits elsewhere).
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// guidText formats 16 bytes as GUID text in their order, as the database
// stores volume and (version 4) disk GUIDs.
func guidText(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// readAt reads len(p) bytes at off, which must lie within size.
func readAt(r io.ReaderAt, size int64, p []byte, off int64) error {
	if off < 0 || off > size || int64(len(p)) > size-off {
		return formatErr(off, "%d bytes past the end of the %d-byte disk", len(p), size)
	}
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
