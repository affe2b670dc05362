package ntfs

import (
	"encoding/binary"
	"unicode/utf16"
)

// Attribute type codes used by this package.
const (
	attrStandardInfo  uint32 = 0x10
	attrAttributeList uint32 = 0x20
	attrFileName      uint32 = 0x30
	attrVolumeName    uint32 = 0x60
	attrData          uint32 = 0x80
	attrIndexRoot     uint32 = 0x90
	attrIndexAlloc    uint32 = 0xA0
	attrReparsePoint  uint32 = 0xC0
	attrEnd           uint32 = 0xFFFFFFFF
)

// Attribute header flags.
const (
	attrFlagCompressed uint16 = 0x0001
	attrFlagEncrypted  uint16 = 0x4000
	attrFlagSparse     uint16 = 0x8000
)

// attribute is one attribute header as found in one MFT record. A
// non-resident attribute may be split over several records (each piece
// holding part of the runlist); pieces are merged into a stream later.
type attribute struct {
	Type        uint32
	Name        string
	Flags       uint16
	ID          uint16
	NonResident bool
	Off         int64 // byte offset of the header in the volume, for errors

	Value []byte // resident value

	StartVCN, LastVCN uint64
	CompUnit          uint8 // log2 of clusters per compression unit (0 = none)
	AllocSize         int64
	DataSize          int64
	InitSize          int64
	Runs              []run // this piece's runs, VCNs absolute
}

// parseAttributes decodes the attribute headers of one fixed-up MFT record.
// recOff is the record's byte offset in the volume. clusters bounds the
// runlists.
func parseAttributes(b []byte, first int, recOff int64, clusters uint64) ([]*attribute, error) {
	var attrs []*attribute
	pos := first
	for {
		if pos+8 > len(b) {
			return nil, formatErr(recOff+int64(pos), "attribute list of record runs past its end")
		}
		typ := binary.LittleEndian.Uint32(b[pos:])
		if typ == attrEnd {
			return attrs, nil
		}
		length := int(binary.LittleEndian.Uint32(b[pos+4:]))
		if length < 24 || length%8 != 0 || pos+length > len(b) {
			return nil, formatErr(recOff+int64(pos), "attribute of type %#x has length %d", typ, length)
		}
		a, err := parseAttribute(b[pos:pos+length], recOff+int64(pos), clusters)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, a)
		pos += length
	}
}

func parseAttribute(b []byte, off int64, clusters uint64) (*attribute, error) {
	a := &attribute{
		Type:        binary.LittleEndian.Uint32(b),
		NonResident: b[8] != 0,
		Flags:       binary.LittleEndian.Uint16(b[0x0C:]),
		ID:          binary.LittleEndian.Uint16(b[0x0E:]),
		Off:         off,
	}
	nameLen := int(b[9])
	nameOff := int(binary.LittleEndian.Uint16(b[0x0A:]))
	if nameLen > 0 {
		if nameOff+2*nameLen > len(b) {
			return nil, formatErr(off+0x0A, "attribute name runs past the attribute")
		}
		a.Name = decodeUTF16(b[nameOff : nameOff+2*nameLen])
	}
	if !a.NonResident {
		vlen := int(binary.LittleEndian.Uint32(b[0x10:]))
		voff := int(binary.LittleEndian.Uint16(b[0x14:]))
		if voff > len(b) || vlen > len(b)-voff {
			return nil, formatErr(off+0x10, "resident value (%d bytes at %d) runs past the attribute", vlen, voff)
		}
		a.Value = b[voff : voff+vlen]
		return a, nil
	}
	if len(b) < 0x40 {
		return nil, formatErr(off, "non-resident attribute header truncated")
	}
	a.StartVCN = binary.LittleEndian.Uint64(b[0x10:])
	a.LastVCN = binary.LittleEndian.Uint64(b[0x18:])
	runOff := int(binary.LittleEndian.Uint16(b[0x20:]))
	a.CompUnit = b[0x22]
	a.AllocSize = int64(binary.LittleEndian.Uint64(b[0x28:]))
	a.DataSize = int64(binary.LittleEndian.Uint64(b[0x30:]))
	a.InitSize = int64(binary.LittleEndian.Uint64(b[0x38:]))
	if a.StartVCN == 0 && (a.DataSize < 0 || a.InitSize < 0 || a.AllocSize < 0) {
		return nil, kindErr(ErrRange, off+0x28, "negative attribute size")
	}
	if runOff > len(b) {
		return nil, formatErr(off+0x20, "runlist offset %d past the attribute", runOff)
	}
	if a.LastVCN+1 < a.StartVCN {
		return nil, formatErr(off+0x10, "VCN range %d..%d", a.StartVCN, a.LastVCN)
	}
	runs, err := decodeRuns(b[runOff:], a.StartVCN, a.LastVCN+1-a.StartVCN, clusters, off+int64(runOff))
	if err != nil {
		return nil, err
	}
	a.Runs = runs
	return a, nil
}

// decodeUTF16 turns little-endian UTF-16 bytes into a Go string. Unpaired
// surrogates become U+FFFD, as NTFS does not forbid them.
func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
