package diff

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// rawRecord is what the incremental diff needs of one MFT record beyond
// package ntfs: the base record it extends, and where its $DATA streams lie.
type rawRecord struct {
	base    uint64 // base record number; 0 for a base record
	hasList bool   // carries an $ATTRIBUTE_LIST: streams may continue elsewhere
	streams map[string]*rawStream
}

// rawStream is one $DATA attribute as found in one record.
type rawStream struct {
	resident bool
	value    []byte
	runs     []clusterRun
	// whole is set when this record holds the stream's complete runlist
	// and the data is stored plainly (not compressed or encrypted), so
	// that clusters map to file offsets one to one.
	whole bool
}

// Attribute types and flags this file reads.
const (
	attrList          = 0x20
	attrData          = 0x80
	attrEnd           = 0xffffffff
	attrCompressed    = 0x0001
	attrEncrypted     = 0x4000
	fixupStride       = 512
	recordHeaderMin   = 0x30
	maxAttrsPerRecord = 1024
)

// parseRaw undoes the fixups of a record (in place) and decodes its
// $DATA attributes.
func parseRaw(b []byte, clusters int64) (*rawRecord, error) {
	if err := fixups(b); err != nil {
		return nil, err
	}
	rec := &rawRecord{base: binary.LittleEndian.Uint64(b[0x20:]) & (1<<48 - 1), streams: map[string]*rawStream{}}
	pos, used := u16(b, 0x14), int(min(u32(b, 0x18), int64(len(b))))
	for i := 0; i < maxAttrsPerRecord && pos+8 <= used; i++ {
		typ := uint32(u32(b, pos))
		if typ == attrEnd {
			return rec, nil
		}
		n := int(u32(b, pos+4))
		if n < 24 || n%8 != 0 || pos+n > used {
			return nil, fmt.Errorf("attribute of type %#x has length %d", typ, n)
		}
		a := b[pos : pos+n]
		switch typ {
		case attrList:
			rec.hasList = true
		case attrData:
			if err := rec.addData(a, clusters); err != nil {
				return nil, err
			}
		}
		pos += n
	}
	return nil, fmt.Errorf("attributes run past the record's used size %d", used)
}

// addData records one $DATA attribute. A second piece of the same stream
// in one record makes it not whole.
func (rec *rawRecord) addData(a []byte, clusters int64) error {
	name, err := attrName(a)
	if err != nil {
		return err
	}
	if old := rec.streams[name]; old != nil {
		old.whole = false
		return nil
	}
	s := &rawStream{resident: a[8] == 0}
	rec.streams[name] = s
	if s.resident {
		vlen, voff := int(u32(a, 0x10)), u16(a, 0x14)
		if voff > len(a) || vlen > len(a)-voff {
			return fmt.Errorf("resident value runs past its attribute")
		}
		s.value, s.whole = a[voff:voff+vlen], true
		return nil
	}
	if len(a) < 0x40 {
		return fmt.Errorf("non-resident attribute header truncated")
	}
	start := int64(binary.LittleEndian.Uint64(a[0x10:]))
	last := int64(binary.LittleEndian.Uint64(a[0x18:]))
	alloc := int64(binary.LittleEndian.Uint64(a[0x28:]))
	runOff := u16(a, 0x20)
	if runOff > len(a) || start < 0 || start > clusters {
		return fmt.Errorf("non-resident attribute header out of range")
	}
	if s.runs, err = decodeRunlist(a[runOff:], start, clusters); err != nil {
		return err
	}
	flags := u16(a, 0x0C)
	var mapped int64
	for _, r := range s.runs {
		mapped += r.n
	}
	s.whole = start == 0 && last+1 == mapped && flags&(attrCompressed|attrEncrypted) == 0 && a[0x22] == 0 && alloc >= 0
	return nil
}

func attrName(a []byte) (string, error) {
	n, off := int(a[9]), u16(a, 0x0A)
	if off+2*n > len(a) {
		return "", fmt.Errorf("attribute name runs past its attribute")
	}
	u := make([]uint16, n)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(a[off+2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// fixups checks and undoes a record's update sequence.
func fixups(b []byte) error {
	if len(b) < fixupStride || len(b)%fixupStride != 0 {
		return fmt.Errorf("record size %d", len(b))
	}
	usaOff, count := u16(b, 4), u16(b, 6)
	strides := len(b) / fixupStride
	if count != strides+1 || usaOff < 8 || usaOff+2*count > fixupStride-2 {
		return fmt.Errorf("bad update sequence (offset %d, %d entries)", usaOff, count)
	}
	for i := 0; i < strides; i++ {
		end := (i+1)*fixupStride - 2
		if b[end] != b[usaOff] || b[end+1] != b[usaOff+1] {
			return fmt.Errorf("torn record: sector %d fails the update sequence check", i)
		}
		copy(b[end:end+2], b[usaOff+2+2*i:usaOff+4+2*i])
	}
	if u16(b, 0x14) < 0x2A || u32(b, 0x18) < recordHeaderMin {
		return fmt.Errorf("bad record header")
	}
	return nil
}
