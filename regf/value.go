package regf

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Value types.
const (
	TypeNone      uint32 = 0
	TypeString    uint32 = 1 // REG_SZ: UTF-16LE, usually NUL-terminated
	TypeExpandSz  uint32 = 2
	TypeBinary    uint32 = 3
	TypeDword     uint32 = 4
	TypeLink      uint32 = 6
	TypeMultiSz   uint32 = 7
	TypeQword     uint32 = 11
	valueCompName        = 0x0001 // the value name is Latin-1, not UTF-16
	inlineData           = 0x80000000
	bigDataMin           = 16344 // larger data is in a db cell's segments (hives 1.4+)
	maxValueData         = 64 << 20
)

// Value is a registry value. The default value of a key has the name "".
type Value struct {
	Name string
	Type uint32
	Data []byte
}

// String decodes REG_SZ, REG_EXPAND_SZ and REG_LINK data (UTF-16LE, up to
// the first NUL); other types give "".
func (v Value) String() string {
	if v.Type != TypeString && v.Type != TypeExpandSz && v.Type != TypeLink {
		return ""
	}
	u := make([]uint16, len(v.Data)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(v.Data[2*i:])
	}
	for i, c := range u {
		if c == 0 {
			u = u[:i]
			break
		}
	}
	return string(utf16.Decode(u))
}

// Values returns the key's values in the order of its list.
func (k *Key) Values() ([]Value, error) {
	offs, err := k.valueOffsets()
	if err != nil {
		return nil, err
	}
	vals := make([]Value, 0, len(offs))
	for _, off := range offs {
		v, err := k.h.value(off, true)
		if err != nil {
			return nil, fmt.Errorf("value of %q: %w", k.Name, err)
		}
		vals = append(vals, v)
	}
	return vals, nil
}

// Value returns the value of that name ("" for the default value),
// matched without regard to case.
func (k *Key) Value(name string) (Value, error) {
	offs, err := k.valueOffsets()
	if err != nil {
		return Value{}, err
	}
	for _, off := range offs {
		v, err := k.h.value(off, false)
		if err != nil {
			return Value{}, fmt.Errorf("value of %q: %w", k.Name, err)
		}
		if strings.EqualFold(v.Name, name) {
			return k.h.value(off, true)
		}
	}
	return Value{}, fmt.Errorf("key %q has no value %q: %w", k.Name, name, ErrNotFound)
}

func (k *Key) valueOffsets() ([]uint32, error) {
	if k.nValues == 0 {
		return nil, nil
	}
	b, err := k.h.cell(k.valList)
	if err != nil {
		return nil, fmt.Errorf("values of %q: %w", k.Name, err)
	}
	if int64(k.nValues)*4 > int64(len(b)) {
		return nil, formatErr(baseBlockSize+int64(k.valList), "value list of %q: %d values in a cell of %d bytes", k.Name, k.nValues, len(b))
	}
	offs := make([]uint32, k.nValues)
	for i := range offs {
		offs[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return offs, nil
}

// value reads the vk cell at off, and its data when withData is set.
func (h *Hive) value(off uint32, withData bool) (Value, error) {
	b, err := h.cell(off)
	if err != nil {
		return Value{}, err
	}
	le := binary.LittleEndian
	if len(b) < 20 || string(b[:2]) != "vk" {
		return Value{}, formatErr(baseBlockSize+int64(off), "cell %#x is not a value", off)
	}
	nameLen := int(le.Uint16(b[2:]))
	if 20+nameLen > len(b) {
		return Value{}, formatErr(baseBlockSize+int64(off), "value name of %d bytes in a cell of %d", nameLen, len(b))
	}
	v := Value{Name: decodeName(b[20:20+nameLen], le.Uint16(b[16:])&valueCompName != 0), Type: le.Uint32(b[12:])}
	if !withData {
		return v, nil
	}
	size, dataOff := le.Uint32(b[4:]), le.Uint32(b[8:])
	if size&inlineData != 0 {
		// Up to four bytes kept in the data offset field itself.
		n := size &^ inlineData
		if n > 4 {
			return Value{}, formatErr(baseBlockSize+int64(off), "value %q: %d bytes of inline data", v.Name, n)
		}
		v.Data = b[8 : 8+n]
		return v, nil
	}
	if size == 0 {
		return v, nil
	}
	if size > maxValueData || int64(size) > h.bins {
		return Value{}, formatErr(baseBlockSize+int64(off), "value %q of %d bytes", v.Name, size)
	}
	d, err := h.cell(dataOff)
	if err != nil {
		return Value{}, fmt.Errorf("data of value %q: %w", v.Name, err)
	}
	if size > bigDataMin && h.minor >= 4 && len(d) >= 2 && string(d[:2]) == "db" {
		v.Data, err = h.bigData(dataOff, int(size))
		return v, err
	}
	if int(size) > len(d) {
		return Value{}, formatErr(baseBlockSize+int64(dataOff), "value %q: %d bytes of data in a cell of %d", v.Name, size, len(d))
	}
	v.Data = d[:size]
	return v, nil
}

// bigData gathers size bytes from the segments a db cell lists.
func (h *Hive) bigData(off uint32, size int) ([]byte, error) {
	b, err := h.cell(off)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	if len(b) < 8 || string(b[:2]) != "db" {
		return nil, formatErr(baseBlockSize+int64(off), "cell %#x is not a big data record", off)
	}
	n := int(le.Uint16(b[2:]))
	if n*bigDataMin < size {
		return nil, formatErr(baseBlockSize+int64(off), "%d segments for %d bytes", n, size)
	}
	list, err := h.cell(le.Uint32(b[4:]))
	if err != nil {
		return nil, err
	}
	if 4*n > len(list) {
		return nil, formatErr(baseBlockSize+int64(off), "segment list of %d entries in a cell of %d bytes", n, len(list))
	}
	data := make([]byte, 0, size)
	for i := 0; i < n && len(data) < size; i++ {
		seg, err := h.cell(le.Uint32(list[4*i:]))
		if err != nil {
			return nil, err
		}
		data = append(data, seg[:min(len(seg), bigDataMin, size-len(data))]...)
	}
	if len(data) < size {
		return nil, formatErr(baseBlockSize+int64(off), "big data of %d bytes, its segments hold %d", size, len(data))
	}
	return data, nil
}
