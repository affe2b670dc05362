package vhdx

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// vhdMaxLocatorData bounds one parent locator's data: a Windows path of the
// longest kind (32767 UTF-16 units) fits.
const vhdMaxLocatorData = 64 << 10

// Platform codes of the parent locator entries.
var (
	vhdCodeW2ru = [4]byte{'W', '2', 'r', 'u'} // relative path, UTF-16LE
	vhdCodeW2ku = [4]byte{'W', '2', 'k', 'u'} // absolute path, UTF-16LE
	vhdCodeWi2r = [4]byte{'W', 'i', '2', 'r'} // relative path, ANSI (deprecated)
	vhdCodeWi2k = [4]byte{'W', 'i', '2', 'k'} // absolute path, ANSI (deprecated)
	vhdCodeMac  = [4]byte{'M', 'a', 'c', ' '} // Mac OS alias record; "MacX" (a UTF-8 file URL) needs no special case
)

// readVHDParent builds the ParentLocator of a differencing disk from its
// dynamic header, reading every used locator entry's data from the file.
func readVHDParent(r io.ReaderAt, size int64, h *vhdDynHeader, hdrOff int64) (*ParentLocator, error) {
	p := &ParentLocator{
		Linkage:         h.ParentID,
		ParentTimestamp: vhdTime(h.ParentTimestamp),
		ParentName:      h.parentName(),
		Entries:         map[string]string{},
	}
	var ansiRel, ansiAbs string
	for i := range h.Locators {
		l := &h.Locators[i]
		if !l.used() {
			continue
		}
		entOff := hdrOff + vhdLocatorsOff + int64(i)*vhdLocatorSize
		data, err := readVHDLocatorData(r, size, l, entOff)
		if err != nil {
			return nil, err
		}
		key := strings.TrimRight(string(l.Code[:]), " \x00")
		if !utf8.ValidString(key) {
			key = fmt.Sprintf("%x", l.Code[:])
		}
		text := decodeVHDLocatorData(l.Code, data)
		if _, dup := p.Entries[key]; dup {
			key = fmt.Sprintf("%s#%d", key, i)
		}
		p.Entries[key] = text
		switch l.Code {
		case vhdCodeW2ru:
			p.RelativePath = text
		case vhdCodeW2ku:
			p.AbsolutePath = text
		case vhdCodeWi2r:
			ansiRel = text
		case vhdCodeWi2k:
			ansiAbs = text
		}
	}
	// The deprecated ANSI entries only count when the Unicode ones are missing.
	if p.RelativePath == "" {
		p.RelativePath = ansiRel
	}
	if p.AbsolutePath == "" {
		p.AbsolutePath = ansiAbs
	}
	return p, nil
}

// readVHDLocatorData reads one locator's data after checking its place in
// the file. entOff is where the entry itself lies, for error messages.
func readVHDLocatorData(r io.ReaderAt, size int64, l *vhdLocator, entOff int64) ([]byte, error) {
	if l.DataLength > vhdMaxLocatorData {
		return nil, formatErr(entOff, "parent locator %q data length %d exceeds %d", l.Code[:], l.DataLength, vhdMaxLocatorData)
	}
	if l.DataOffset > uint64(size) || uint64(size)-l.DataOffset < uint64(l.DataLength) {
		return nil, formatErr(entOff, "parent locator %q data [0x%x, +%d) lies outside the %d-byte file", l.Code[:], l.DataOffset, l.DataLength, size)
	}
	data := make([]byte, l.DataLength)
	if _, err := r.ReadAt(data, int64(l.DataOffset)); err != nil {
		return nil, &ioError{off: int64(l.DataOffset), what: fmt.Sprintf("VHD parent locator %q", l.Code[:]), err: err}
	}
	return data, nil
}

// decodeVHDLocatorData turns locator data into text by its platform code.
func decodeVHDLocatorData(code [4]byte, data []byte) string {
	switch code {
	case vhdCodeW2ru, vhdCodeW2ku:
		u := make([]uint16, 0, len(data)/2)
		for i := 0; i+1 < len(data); i += 2 {
			u = append(u, binary.LittleEndian.Uint16(data[i:]))
		}
		return strings.TrimRight(string(utf16.Decode(u)), "\x00")
	case vhdCodeMac:
		return fmt.Sprintf("(Mac OS alias, %d bytes)", len(data))
	}
	// ANSI and UTF-8 forms: keep valid UTF-8, map other bytes as Latin-1.
	s := strings.TrimRight(string(data), "\x00")
	if utf8.ValidString(s) {
		return s
	}
	rs := make([]rune, 0, len(s))
	for i := 0; i < len(s); i++ {
		rs = append(rs, rune(s[i]))
	}
	return string(rs)
}

// encodeVHDLocatorData is the inverse of decodeVHDLocatorData for the text
// forms this package writes (W2ru, W2ku UTF-16LE; MacX and the ANSI codes
// as bytes).
func encodeVHDLocatorData(code [4]byte, text string) []byte {
	switch code {
	case vhdCodeW2ru, vhdCodeW2ku:
		u := utf16.Encode([]rune(text))
		b := make([]byte, 2*len(u))
		for i, c := range u {
			binary.LittleEndian.PutUint16(b[2*i:], c)
		}
		return b
	}
	return []byte(text)
}
