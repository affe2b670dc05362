package bitlocker

import (
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf16"
)

// A datum is BitLocker's tagged record: an 8-byte header (total size, role,
// value type, version) and a body whose layout the value type fixes. Some
// value types end with more datums nested inside. All sizes are checked
// against the enclosing buffer before use, so a hostile size cannot read
// outside it.
type datum struct {
	off   int64  // byte offset of the header in the volume (for errors), -1 in a key file
	role  uint16 // what the datum is for: roleVMK, roleFVEK, ...
	vtype uint16 // value type: valKey, valAESCCM, ...
	body  []byte // the bytes after the 8-byte header
}

// Datum roles (the "entry type" of other readers).
const (
	roleProperty     = 0x0000
	roleVMK          = 0x0002
	roleFVEK         = 0x0003
	roleValidation   = 0x0004
	roleStartupKey   = 0x0006
	roleDescription  = 0x0007
	roleVolumeHeader = 0x000f
)

// Datum value types.
const (
	valErased      = 0x0000
	valKey         = 0x0001
	valString      = 0x0002
	valStretchKey  = 0x0003
	valUseKey      = 0x0004
	valAESCCM      = 0x0005
	valTPM         = 0x0006
	valValidation  = 0x0007
	valVMK         = 0x0008
	valExternalKey = 0x0009
	valOffsetSize  = 0x000f
)

// fixedLen is the body length before nested datums, per value type that
// nests; the others have no nested datums.
var fixedLen = map[uint16]int{
	valStretchKey:  4 + 16,     // method, salt
	valUseKey:      4,          // method
	valVMK:         16 + 8 + 4, // GUID, time, unknown, protection
	valExternalKey: 16 + 8,     // GUID, time
}

const (
	datumHeaderLen = 8
	maxDatums      = 4096 // more than any real metadata holds (it is at most 64 KiB)
	maxNesting     = 4
)

// parseDatums splits b into consecutive datums. A zero size ends the list
// (the rest is padding); a size below the header or past the end is an error.
func parseDatums(b []byte, off int64) ([]datum, error) {
	var out []datum
	for pos := 0; len(b)-pos >= datumHeaderLen; {
		size := int(binary.LittleEndian.Uint16(b[pos:]))
		if size == 0 {
			break
		}
		if size < datumHeaderLen || size > len(b)-pos {
			return nil, formatErr(off+int64(pos), "datum of %d bytes in %d", size, len(b)-pos)
		}
		if len(out) >= maxDatums {
			return nil, formatErr(off+int64(pos), "more than %d datums", maxDatums)
		}
		out = append(out, datum{
			off:   off + int64(pos),
			role:  binary.LittleEndian.Uint16(b[pos+2:]),
			vtype: binary.LittleEndian.Uint16(b[pos+4:]),
			body:  b[pos+datumHeaderLen : pos+size],
		})
		pos += size
	}
	return out, nil
}

// nested returns the datums inside d, after its fixed part.
func (d datum) nested(depth int) ([]datum, error) {
	if depth > maxNesting {
		return nil, formatErr(d.off, "datums nested deeper than %d", maxNesting)
	}
	n, ok := fixedLen[d.vtype]
	if !ok {
		return nil, nil
	}
	if len(d.body) < n {
		return nil, formatErr(d.off, "datum type %d has %d bytes, want at least %d", d.vtype, len(d.body), n)
	}
	return parseDatums(d.body[n:], d.off+datumHeaderLen+int64(n))
}

// need checks that d's body holds at least n bytes.
func (d datum) need(n int) error {
	if len(d.body) < n {
		return formatErr(d.off, "datum type %d has %d bytes, want at least %d", d.vtype, len(d.body), n)
	}
	return nil
}

// ccm is an AES-CCM encrypted datum: 12-byte nonce, 16-byte tag, payload.
type ccm struct {
	nonce [12]byte
	tag   [16]byte
	data  []byte
}

func (d datum) ccm() (ccm, error) {
	var c ccm
	if d.vtype != valAESCCM {
		return c, formatErr(d.off, "datum type %d where an AES-CCM datum belongs", d.vtype)
	}
	if err := d.need(12 + 16 + 1); err != nil {
		return c, err
	}
	copy(c.nonce[:], d.body)
	copy(c.tag[:], d.body[12:])
	c.data = d.body[28:]
	return c, nil
}

// utf16String decodes a NUL-terminated UTF-16LE string.
func utf16String(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// guidString formats a GUID stored in Microsoft's mixed-endian layout.
func guidString(b []byte) string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint16(b[4:]),
		binary.LittleEndian.Uint16(b[6:]), b[8:10], b[10:16])
}

// filetime converts a Windows FILETIME (100 ns since 1601) to UTC; zero
// stays the zero time.
func filetime(v uint64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	const epochDiff = 116444736000000000 // 1601 to 1970 in 100 ns
	if v < epochDiff {
		return time.Unix(0, 0).UTC()
	}
	d := v - epochDiff
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
}
