package ntfs

import (
	"encoding/binary"
	"fmt"
	"io"
)

// maxAttrList bounds the size of an $ATTRIBUTE_LIST value we read.
// Windows caps it at 256 KiB; we allow a little more.
const maxAttrList = 1 << 20

// maxExtensions bounds how many extension records one file may use.
const maxExtensions = 4096

// attrListEntry is one entry of an $ATTRIBUTE_LIST.
type attrListEntry struct {
	Type     uint32
	StartVCN uint64
	Rec      Ref
	ID       uint16
	Name     string
}

// parseAttrList decodes an $ATTRIBUTE_LIST value.
func parseAttrList(b []byte, off int64) ([]attrListEntry, error) {
	var out []attrListEntry
	for pos := 0; pos+0x1A <= len(b); {
		l := int(binary.LittleEndian.Uint16(b[pos+4:]))
		if l < 0x1A || pos+l > len(b) {
			if l == 0 {
				break // zero padding after the last entry
			}
			return nil, formatErr(off, "attribute list entry at %d has length %d", pos, l)
		}
		e := attrListEntry{
			Type:     binary.LittleEndian.Uint32(b[pos:]),
			StartVCN: binary.LittleEndian.Uint64(b[pos+8:]),
			Rec:      refFrom(binary.LittleEndian.Uint64(b[pos+0x10:])),
			ID:       binary.LittleEndian.Uint16(b[pos+0x18:]),
		}
		nl, no := int(b[pos+6]), int(b[pos+7])
		if nl > 0 {
			if no+2*nl > l {
				return nil, formatErr(off, "attribute list entry name runs past the entry")
			}
			e.Name = decodeUTF16(b[pos+no : pos+no+2*nl])
		}
		out = append(out, e)
		pos += l
	}
	return out, nil
}

// readAttrValue returns the whole value of a (small) attribute, resident or
// not, refusing values larger than limit.
func (v *Volume) readAttrValue(a *attribute, limit int64) ([]byte, error) {
	if !a.NonResident {
		return a.Value, nil
	}
	s, err := newStream(v.r, int64(v.geo.ClusterSize), []*attribute{a})
	if err != nil {
		return nil, err
	}
	if s.size > limit || s.size > v.size {
		return nil, kindErr(ErrRange, a.Off+0x30, "attribute %#x of %d bytes is larger than %d", a.Type, s.size, limit)
	}
	b := make([]byte, s.size)
	if _, err := s.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

// gatherAttributes returns the attributes of base record rec, following its
// $ATTRIBUTE_LIST into extension records. get reads one record.
func (v *Volume) gatherAttributes(rec *mftRecord, get func(uint64) (*mftRecord, error)) ([]*attribute, error) {
	var list *attribute
	for _, a := range rec.Attrs {
		if a.Type == attrAttributeList {
			list = a
			break
		}
	}
	if list == nil {
		return rec.Attrs, nil
	}
	val, err := v.readAttrValue(list, maxAttrList)
	if err != nil {
		return nil, fmt.Errorf("record %d: $ATTRIBUTE_LIST: %w", rec.Num, err)
	}
	entries, err := parseAttrList(val, list.Off)
	if err != nil {
		return nil, fmt.Errorf("record %d: %w", rec.Num, err)
	}
	var attrs []*attribute
	for _, a := range rec.Attrs {
		if a.Type != attrAttributeList {
			attrs = append(attrs, a)
		}
	}
	seen := map[uint64]bool{rec.Num: true}
	for _, e := range entries {
		if seen[e.Rec.Record] {
			continue
		}
		seen[e.Rec.Record] = true
		if len(seen) > maxExtensions {
			return nil, kindErr(ErrRange, list.Off, "record %d uses more than %d extension records", rec.Num, maxExtensions)
		}
		ext, err := get(e.Rec.Record)
		if err != nil {
			return nil, fmt.Errorf("record %d: extension record: %w", rec.Num, err)
		}
		if ext.Base.Record != rec.Num || ext.Flags&recInUse == 0 {
			return nil, formatErr(list.Off, "record %d lists record %d, which belongs to record %d", rec.Num, ext.Num, ext.Base.Record)
		}
		if e.Rec.Seq != 0 && ext.Seq != e.Rec.Seq {
			return nil, formatErr(list.Off, "record %d lists record %d with sequence %d, found %d", rec.Num, ext.Num, e.Rec.Seq, ext.Seq)
		}
		attrs = append(attrs, ext.Attrs...)
	}
	return attrs, nil
}

// pieces returns the attributes of the given type and name, in order.
func pieces(attrs []*attribute, typ uint32, name string) []*attribute {
	var out []*attribute
	for _, a := range attrs {
		if a.Type == typ && a.Name == name {
			out = append(out, a)
		}
	}
	return out
}
