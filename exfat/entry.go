package exfat

import (
	"encoding/binary"
	"time"
	"unicode/utf16"
)

// A directory is a sequence of 32-byte entries. The type byte carries
// the entry's code in bits 0-4, its importance (benign when set) in bit
// 5, its category (secondary when set) in bit 6 and InUse in bit 7. A
// file is an entry set: a File entry, then its secondary entries (a
// Stream Extension, File Name entries, and perhaps entries of later
// revisions), protected by a checksum in the File entry.
const (
	entrySize = 32

	typeEnd    = 0x00 // no entry here or after
	typeBitmap = 0x81 // allocation bitmap (root only)
	typeUpcase = 0x82 // up-case table (root only)
	typeLabel  = 0x83 // volume label (root only)
	typeFile   = 0x85
	typeGUID   = 0xA0 // volume GUID (root only, benign)
	typeStream = 0xC0
	typeName   = 0xC1

	typeInUse     = 0x80
	typeBenign    = 0x20
	typeSecondary = 0x40

	// flags of the Stream Extension (GeneralSecondaryFlags)
	flagAllocPossible = 1 << 0
	flagNoFatChain    = 1 << 1

	nameCharsPerEntry = 15
	maxNameLength     = 255
)

// File attributes as the File entry keeps them: the values of Windows's
// FILE_ATTRIBUTE_* constants.
const (
	AttrReadOnly  = 0x01
	AttrHidden    = 0x02
	AttrSystem    = 0x04
	AttrDirectory = 0x10
	AttrArchive   = 0x20
)

// entry is one file or directory as its entry set describes it.
type entry struct {
	name          string
	off           int64 // volume offset of the File entry
	attrs         uint16
	ctime, mtime  time.Time
	atime         time.Time
	noFatChain    bool
	allocPossible bool
	nameHash      uint16
	validLen      int64 // ValidDataLength: bytes past it read as zeros
	dataLen       int64 // DataLength: the size
	firstCluster  uint32
}

func (e *entry) isDir() bool { return e.attrs&AttrDirectory != 0 }

// setChecksum is the SetChecksum of an entry set: all its bytes but the
// checksum field itself (bytes 2 and 3 of the File entry).
func setChecksum(set []byte) uint16 {
	var sum uint16
	for i, c := range set {
		if i == 2 || i == 3 {
			continue
		}
		sum = (sum>>1 | sum<<15) + uint16(c)
	}
	return sum
}

// nameHash is the NameHash of a name: the checksum of its up-cased
// UTF-16 code units, low byte first.
func nameHash(up []uint16) uint16 {
	var sum uint16
	for _, u := range up {
		sum = (sum>>1 | sum<<15) + u&0xff
		sum = (sum>>1 | sum<<15) + u>>8
	}
	return sum
}

// decodeSet decodes the entry set at b (its File entry first, then
// exactly its secondary entries). The caller has checked the types of the
// secondary entries are in use and secondary, and the checksum. off is
// the volume offset of the File entry, for errors.
func decodeSet(b []byte, off int64) (*entry, error) {
	le := binary.LittleEndian
	f, s := b[:entrySize], b[entrySize:2*entrySize]
	if s[0] != typeStream {
		return nil, formatErr(off+entrySize, "file entry set whose first secondary entry is %#x, not a stream extension", s[0])
	}
	e := &entry{
		off:           off,
		attrs:         le.Uint16(f[4:]),
		ctime:         decodeTime(le.Uint32(f[8:]), f[20], f[22]),
		mtime:         decodeTime(le.Uint32(f[12:]), f[21], f[23]),
		atime:         decodeTime(le.Uint32(f[16:]), 0, f[24]),
		allocPossible: s[1]&flagAllocPossible != 0,
		noFatChain:    s[1]&flagNoFatChain != 0,
		nameHash:      le.Uint16(s[4:]),
		firstCluster:  le.Uint32(s[20:]),
	}
	valid, data := le.Uint64(s[8:]), le.Uint64(s[24:])
	if data > 1<<62 || valid > data {
		return nil, formatErr(off+entrySize+8, "ValidDataLength %d, DataLength %d", valid, data)
	}
	e.validLen, e.dataLen = int64(valid), int64(data)
	if !e.allocPossible {
		// Nothing allocated: whatever the fields say, there is no data.
		e.firstCluster, e.noFatChain, e.validLen, e.dataLen = 0, false, 0, 0
	}
	n := int(s[3])
	if n == 0 {
		return nil, formatErr(off+entrySize+3, "empty name")
	}
	need := (n + nameCharsPerEntry - 1) / nameCharsPerEntry
	if 1+need > len(b)/entrySize-1 {
		return nil, formatErr(off+1, "a name of %d characters needs %d name entries, the set has room for %d", n, need, len(b)/entrySize-2)
	}
	units := make([]uint16, 0, n)
	for i := 0; i < need; i++ {
		ne := b[(2+i)*entrySize : (3+i)*entrySize]
		if ne[0] != typeName {
			return nil, formatErr(off+int64(2+i)*entrySize, "entry %#x where file name entry %d of %d belongs", ne[0], i+1, need)
		}
		for j := 0; j < nameCharsPerEntry && len(units) < n; j++ {
			units = append(units, le.Uint16(ne[2+2*j:]))
		}
	}
	e.name = string(utf16.Decode(units))
	return e, nil
}

// encodeSet writes the entry set of e, with name entries for e.name and
// the checksum, in the layout decodeSet reads (the tests craft volumes
// with it). extra are further secondary entries to append.
func encodeSet(e *entry, extra ...[]byte) []byte {
	le := binary.LittleEndian
	units := utf16.Encode([]rune(e.name))
	names := (len(units) + nameCharsPerEntry - 1) / nameCharsPerEntry
	b := make([]byte, (2+names+len(extra))*entrySize)
	f, s := b[:entrySize], b[entrySize:2*entrySize]
	f[0], f[1] = typeFile, byte(1+names+len(extra))
	le.PutUint16(f[4:], e.attrs)
	var ts uint32
	ts, f[20], f[22] = encodeTime(e.ctime)
	le.PutUint32(f[8:], ts)
	ts, f[21], f[23] = encodeTime(e.mtime)
	le.PutUint32(f[12:], ts)
	ts, _, f[24] = encodeTime(e.atime)
	le.PutUint32(f[16:], ts)
	s[0] = typeStream
	if e.allocPossible {
		s[1] |= flagAllocPossible
	}
	if e.noFatChain {
		s[1] |= flagNoFatChain
	}
	s[3] = byte(len(units))
	le.PutUint16(s[4:], e.nameHash)
	le.PutUint64(s[8:], uint64(e.validLen))
	le.PutUint32(s[20:], e.firstCluster)
	le.PutUint64(s[24:], uint64(e.dataLen))
	for i := 0; i < names; i++ {
		ne := b[(2+i)*entrySize:]
		ne[0] = typeName
		for j := 0; j < nameCharsPerEntry && i*nameCharsPerEntry+j < len(units); j++ {
			le.PutUint16(ne[2+2*j:], units[i*nameCharsPerEntry+j])
		}
	}
	for i, x := range extra {
		copy(b[(2+names+i)*entrySize:], x)
	}
	le.PutUint16(f[2:], setChecksum(b))
	return b
}

// decodeTime turns a timestamp (local date and time in DOS form, two
// seconds apart), its 10 ms increment (0-199: the odd second and the
// hundredths) and its UTC offset byte into a time. The offset, when
// valid (bit 7), is in 15-minute steps, signed in 7 bits; without it the
// time is taken as UTC, as the zone it was written in is unknown. A zero
// timestamp is the zero time.
func decodeTime(ts uint32, inc, utc uint8) time.Time {
	if ts == 0 {
		return time.Time{}
	}
	loc := time.UTC
	if utc&0x80 != 0 {
		quarters := int(int8(utc<<1) >> 1)
		loc = time.FixedZone("", quarters*15*60)
	}
	t := time.Date(1980+int(ts>>25), time.Month(ts>>21&0xf), int(ts>>16&0x1f),
		int(ts>>11&0x1f), int(ts>>5&0x3f), int(ts&0x1f)*2, 0, loc)
	if inc < 200 {
		t = t.Add(time.Duration(inc) * 10 * time.Millisecond)
	}
	return t
}

// encodeTime is decodeTime's inverse, for times in 1980-2107 at 10 ms
// steps; the zero time encodes as zero.
func encodeTime(t time.Time) (ts uint32, inc, utc uint8) {
	if t.IsZero() {
		return 0, 0, 0
	}
	_, offset := t.Zone()
	utc = 0x80 | uint8(offset/(15*60))&0x7f
	ts = uint32(t.Year()-1980)<<25 | uint32(t.Month())<<21 | uint32(t.Day())<<16 |
		uint32(t.Hour())<<11 | uint32(t.Minute())<<5 | uint32(t.Second()/2)
	inc = uint8(t.Second()%2*100 + t.Nanosecond()/1e7)
	return ts, inc, utc
}
