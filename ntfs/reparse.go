package ntfs

import (
	"bytes"
	"encoding/binary"
	"strings"
)

// Reparse tags this package knows.
const (
	TagMountPoint uint32 = 0xA0000003 // junction or volume mount point
	TagSymlink    uint32 = 0xA000000C
	TagDedup      uint32 = 0x80000013 // data deduplication: content lives in the chunk store
	TagWOF        uint32 = 0x80000017 // Windows Overlay Filter: compressed content in a stream
	// TagInterix is not an NTFS tag: it marks an Interix (SFU) symlink, a
	// system file whose data is "IntxLNK\x01" and a UTF-16 target, the form
	// ntfs-3g uses for the symlinks it creates.
	TagInterix uint32 = 0
)

// symlinkRelative is the SYMLINK_FLAG_RELATIVE bit.
const symlinkRelative = 1

// Reparse is a decoded reparse point (or Interix symlink).
type Reparse struct {
	Tag uint32
	// PrintName is the target as meant for users ("C:\Windows", "..\x").
	PrintName string
	// SubstituteName is the target as the system resolves it
	// ("\??\C:\Windows" for absolute targets).
	SubstituteName string
	// Relative is set for symlinks relative to the link's directory.
	Relative bool
	// Data is the raw reparse data after the 8-byte header, for tags this
	// package does not decode.
	Data []byte
}

// IsLink reports whether the reparse point is a symlink or junction.
func (r *Reparse) IsLink() bool {
	return r.Tag == TagSymlink || r.Tag == TagMountPoint || r.Tag == TagInterix || r.Tag == TagLXSymlink
}

// Target returns the link target with '/' separators, taken from the
// SubstituteName: the name Windows resolves. The PrintName is only shown
// to users, and a hostile image can make it say anything; a link must
// show where it really leads. Relative targets are relative to the link's
// directory. The NT namespace prefix \??\ is turned into the forms users
// know: "\??\C:\x" becomes "C:/x", "\??\UNC\srv\share" becomes
// "//srv/share", "\??\Volume{GUID}\x" becomes "Volume{GUID}/x", and any
// other NT path "//?/<path>" (all of them name something outside the
// volume, so a reader that confines links must leave them unresolved).
// An empty SubstituteName gives "".
func (r *Reparse) Target() string {
	t := r.SubstituteName
	if r.Tag == TagInterix || r.Tag == TagLXSymlink {
		return t // a POSIX path
	}
	t = strings.ReplaceAll(t, `\`, "/")
	rest, ok := strings.CutPrefix(t, "/??/")
	if !ok {
		return t
	}
	switch {
	case len(rest) >= 2 && rest[1] == ':' && (rest[0]|0x20 >= 'a' && rest[0]|0x20 <= 'z'):
		return rest
	case len(rest) >= 4 && strings.EqualFold(rest[:4], "UNC/"):
		return "//" + rest[4:]
	case len(rest) >= 7 && strings.EqualFold(rest[:7], "Volume{"):
		return rest
	}
	return "//?/" + rest
}

// parseReparse decodes a $REPARSE_POINT value.
func parseReparse(b []byte, off int64) (*Reparse, error) {
	if len(b) < 8 {
		return nil, formatErr(off, "reparse point of %d bytes", len(b))
	}
	r := &Reparse{Tag: binary.LittleEndian.Uint32(b)}
	n := int(binary.LittleEndian.Uint16(b[4:]))
	if 8+n > len(b) {
		return nil, formatErr(off, "reparse data of %d bytes runs past the attribute", n)
	}
	data := b[8 : 8+n]
	r.Data = data
	var hdr int
	switch r.Tag {
	case TagSymlink:
		hdr = 12
	case TagMountPoint:
		hdr = 8
	case TagLXSymlink:
		if err := parseLXSymlink(r, off); err != nil {
			return nil, err
		}
		return r, nil
	default:
		return r, nil
	}
	if len(data) < hdr {
		return nil, formatErr(off, "reparse data of tag %#x truncated", r.Tag)
	}
	path := data[hdr:]
	name := func(o, l int) (string, error) {
		so := int(binary.LittleEndian.Uint16(data[o:]))
		sl := int(binary.LittleEndian.Uint16(data[l:]))
		if so+sl > len(path) || sl%2 != 0 {
			return "", formatErr(off, "reparse name (%d bytes at %d) runs past the data", sl, so)
		}
		return decodeUTF16(path[so : so+sl]), nil
	}
	var err error
	if r.SubstituteName, err = name(0, 2); err != nil {
		return nil, err
	}
	if r.PrintName, err = name(4, 6); err != nil {
		return nil, err
	}
	if r.Tag == TagSymlink {
		r.Relative = binary.LittleEndian.Uint32(data[8:])&symlinkRelative != 0
	}
	return r, nil
}

// interixMagic starts the data of an Interix symlink.
var interixMagic = []byte("IntxLNK\x01")

// parseInterix decodes the data of an Interix symlink, or returns nil.
func parseInterix(b []byte) *Reparse {
	if !bytes.HasPrefix(b, interixMagic) || (len(b)-len(interixMagic))%2 != 0 {
		return nil
	}
	t := decodeUTF16(b[len(interixMagic):])
	return &Reparse{Tag: TagInterix, PrintName: t, SubstituteName: t, Relative: !strings.HasPrefix(t, "/")}
}
