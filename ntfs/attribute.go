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
	// Count first, so the headers take one allocation, not one each.
	count := 0
	for pos := first; pos+8 <= len(b) && binary.LittleEndian.Uint32(b[pos:]) != attrEnd; count++ {
		length := int(binary.LittleEndian.Uint32(b[pos+4:]))
		if length < 24 || length%8 != 0 || pos+length > len(b) {
			break // reported below
		}
		pos += length
	}
	store := make([]attribute, count)
	attrs := make([]*attribute, 0, count)
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
		a := &store[len(attrs)]
		if err := parseAttribute(a, b[pos:pos+length], recOff+int64(pos), clusters); err != nil {
			return nil, err
		}
		attrs = append(attrs, a)
		pos += length
	}
}

// parseAttribute decodes the attribute in b (found at volume offset off)
// into a.
func parseAttribute(a *attribute, b []byte, off int64, clusters uint64) error {
	*a = attribute{
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
			return formatErr(off+0x0A, "attribute name runs past the attribute")
		}
		a.Name = decodeUTF16(b[nameOff : nameOff+2*nameLen])
	}
	if !a.NonResident {
		vlen := int(binary.LittleEndian.Uint32(b[0x10:]))
		voff := int(binary.LittleEndian.Uint16(b[0x14:]))
		if voff > len(b) || vlen > len(b)-voff {
			return formatErr(off+0x10, "resident value (%d bytes at %d) runs past the attribute", vlen, voff)
		}
		a.Value = b[voff : voff+vlen]
		return nil
	}
	if len(b) < 0x40 {
		return formatErr(off, "non-resident attribute header truncated")
	}
	a.StartVCN = binary.LittleEndian.Uint64(b[0x10:])
	a.LastVCN = binary.LittleEndian.Uint64(b[0x18:])
	runOff := int(binary.LittleEndian.Uint16(b[0x20:]))
	a.CompUnit = b[0x22]
	a.AllocSize = int64(binary.LittleEndian.Uint64(b[0x28:]))
	a.DataSize = int64(binary.LittleEndian.Uint64(b[0x30:]))
	a.InitSize = int64(binary.LittleEndian.Uint64(b[0x38:]))
	if a.StartVCN == 0 && (a.DataSize < 0 || a.InitSize < 0 || a.AllocSize < 0) {
		return kindErr(ErrRange, off+0x28, "negative attribute size")
	}
	if runOff > len(b) {
		return formatErr(off+0x20, "runlist offset %d past the attribute", runOff)
	}
	if a.LastVCN+1 < a.StartVCN {
		return formatErr(off+0x10, "VCN range %d..%d", a.StartVCN, a.LastVCN)
	}
	runs, err := decodeRuns(b[runOff:], a.StartVCN, a.LastVCN+1-a.StartVCN, clusters, off+int64(runOff))
	if err != nil {
		return err
	}
	a.Runs = runs
	return nil
}

// decodeUTF16 turns little-endian UTF-16 bytes into a Go string. Unpaired
// surrogates become U+FFFD, as NTFS does not forbid them.
func decodeUTF16(b []byte) string {
	if s, ok := asciiUTF16(b); ok {
		return s
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// asciiUTF16 decodes b when every character is ASCII, as most names
// are: one allocation, the string's own, instead of three.
func asciiUTF16(b []byte) (string, bool) {
	n := len(b) / 2
	var buf [64]byte
	var out []byte
	if n <= len(buf) {
		out = buf[:n]
	} else {
		out = make([]byte, n)
	}
	for i := range n {
		if b[2*i+1] != 0 || b[2*i] >= 0x80 {
			return "", false
		}
		out[i] = b[2*i]
	}
	return string(out), true
}
