package ntfs

import (
	"encoding/binary"
	"testing"
	"unicode/utf16"
)

// reparseData builds a symlink (or junction) reparse value whose
// SubstituteName and PrintName differ.
func reparseData(tag uint32, subst, print string, relative bool) []byte {
	enc := func(s string) []byte {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
		return b
	}
	sb, pb := enc(subst), enc(print)
	hdr := 8
	if tag == TagSymlink {
		hdr = 12
	}
	data := make([]byte, hdr)
	binary.LittleEndian.PutUint16(data[0:], 0)
	binary.LittleEndian.PutUint16(data[2:], uint16(len(sb)))
	binary.LittleEndian.PutUint16(data[4:], uint16(len(sb)))
	binary.LittleEndian.PutUint16(data[6:], uint16(len(pb)))
	if tag == TagSymlink && relative {
		binary.LittleEndian.PutUint32(data[8:], symlinkRelative)
	}
	data = append(append(data, sb...), pb...)
	b := binary.LittleEndian.AppendUint32(nil, tag)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	b = append(b, 0, 0)
	return append(b, data...)
}

// TestReparseTargetIsSubstituteName: the target is the name Windows
// resolves, whatever the PrintName claims, in the forms a confining
// reader recognises.
func TestReparseTargetIsSubstituteName(t *testing.T) {
	for _, c := range []struct {
		tag          uint32
		subst, print string
		want         string
	}{
		{TagMountPoint, `\??\C:\target\deeper`, `C:\target\deeper`, "C:/target/deeper"},
		{TagSymlink, `\??\UNC\evil\share\x`, `C:\harmless`, "//evil/share/x"},
		{TagMountPoint, `\??\Volume{01234567-89ab-cdef-0123-456789abcdef}\`, `D:\`, "Volume{01234567-89ab-cdef-0123-456789abcdef}/"},
		{TagSymlink, `\??\GLOBALROOT\Device\HarddiskVolume2\x`, `x`, "//?/GLOBALROOT/Device/HarddiskVolume2/x"},
		{TagSymlink, `..\..\etc\passwd`, `notes.txt`, "../../etc/passwd"},
		{TagSymlink, `\Windows`, `C:\Windows`, "/Windows"},
	} {
		r, err := parseReparse(reparseData(c.tag, c.subst, c.print, !filepathIsAbs(c.subst)), 0)
		if err != nil {
			t.Fatalf("%q: %v", c.subst, err)
		}
		if r.PrintName != c.print || r.Target() != c.want {
			t.Errorf("%q (print %q): target %q, want %q", c.subst, r.PrintName, r.Target(), c.want)
		}
	}
}

func filepathIsAbs(s string) bool { return len(s) > 0 && s[0] == '\\' }
