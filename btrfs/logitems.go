package btrfs

import (
	"bytes"
	"encoding/binary"
)

// Item codecs the log replay needs: it rewrites directory entries, back
// references and file extents, which the reader otherwise only decodes.

// splitDirItems returns the raw bytes of each entry packed in a
// DIR_ITEM, DIR_INDEX or XATTR_ITEM item.
func splitDirItems(b []byte) [][]byte {
	var out [][]byte
	le := binary.LittleEndian
	for len(b) >= dirItemSize {
		n := dirItemSize + int(le.Uint16(b[27:])) + int(le.Uint16(b[25:]))
		if n > len(b) {
			break
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

func hasName(b, name []byte) bool {
	found := false
	parseDirItems(b, func(e dirEntry) bool {
		found = bytes.Equal(e.name, name)
		return !found
	})
	return found
}

// withoutName is item b without the entry called name.
func withoutName(b, name []byte) []byte {
	var out []byte
	for _, raw := range splitDirItems(b) {
		keep := true
		parseDirItems(raw, func(e dirEntry) bool { keep = !bytes.Equal(e.name, name); return false })
		if keep {
			out = append(out, raw...)
		}
	}
	return out
}

// rawEntry is the raw bytes of entry e of item b.
func rawEntry(b []byte, e dirEntry) []byte {
	for _, raw := range splitDirItems(b) {
		same := false
		parseDirItems(raw, func(x dirEntry) bool { same = bytes.Equal(x.name, e.name); return false })
		if same {
			return raw
		}
	}
	return nil
}

// makeDirEntry encodes a btrfs_dir_item with no data.
func makeDirEntry(e dirEntry) []byte {
	b := make([]byte, dirItemSize+len(e.name))
	le := binary.LittleEndian
	le.PutUint64(b[0:], e.location.objectid)
	b[8] = e.location.typ
	le.PutUint64(b[9:], e.location.offset)
	le.PutUint16(b[27:], uint16(len(e.name)))
	b[29] = e.typ
	copy(b[dirItemSize:], e.name)
	return b
}

// inodeRef is one name of a btrfs_inode_ref item.
type inodeRef struct {
	index uint64
	name  []byte
}

func parseRefs(b []byte) []inodeRef {
	var out []inodeRef
	le := binary.LittleEndian
	for len(b) >= 10 {
		n := int(le.Uint16(b[8:]))
		if 10+n > len(b) {
			break
		}
		out = append(out, inodeRef{le.Uint64(b), b[10 : 10+n]})
		b = b[10+n:]
	}
	return out
}

func makeRef(index uint64, name []byte) []byte {
	b := make([]byte, 10+len(name))
	binary.LittleEndian.PutUint64(b, index)
	binary.LittleEndian.PutUint16(b[8:], uint16(len(name)))
	copy(b[10:], name)
	return b
}

func refIndex(b, name []byte) (uint64, bool) {
	for _, r := range parseRefs(b) {
		if bytes.Equal(r.name, name) {
			return r.index, true
		}
	}
	return 0, false
}

func containsRef(refs []inodeRef, name []byte) bool {
	for _, r := range refs {
		if bytes.Equal(r.name, name) {
			return true
		}
	}
	return false
}

func withoutRef(b, name []byte) []byte {
	var out []byte
	for _, r := range parseRefs(b) {
		if !bytes.Equal(r.name, name) {
			out = append(out, makeRef(r.index, r.name)...)
		}
	}
	return out
}

// fileType is the directory entry type of an inode mode.
func fileType(mode uint32) uint8 {
	switch mode & sIFMT {
	case sIFREG:
		return ftReg
	case sIFDIR:
		return ftDir
	case sIFLNK:
		return ftSymlink
	case sIFCHR:
		return ftChr
	case sIFBLK:
		return ftBlk
	case sIFIFO:
		return ftFifo
	case sIFSOCK:
		return ftSock
	}
	return ftUnknown
}

// File extent item fields.
const (
	feType      = 20
	feOffset    = 37
	feNumBytes  = 45
	feRegSize   = 53
	feInlineHdr = 21
)

// extentEnd is where a file extent item starting at start ends: its
// num_bytes for regular and preallocated extents, its decoded size
// rounded to the sector for inline ones.
func extentEnd(start uint64, d []byte, sector uint64) (uint64, bool) {
	if len(d) < feInlineHdr {
		return 0, false
	}
	le := binary.LittleEndian
	var n uint64
	if d[feType] == 0 {
		n = (le.Uint64(d[8:]) + sector - 1) / sector * sector
	} else {
		if len(d) < feRegSize {
			return 0, false
		}
		n = le.Uint64(d[feNumBytes:])
	}
	if n == 0 || start+n < start {
		return 0, false
	}
	return start + n, true
}

// trimExtent is regular extent d cut to the length bytes that start cut
// bytes into it.
func trimExtent(d []byte, cut, length uint64) []byte {
	b := bytes.Clone(d)
	le := binary.LittleEndian
	le.PutUint64(b[feOffset:], le.Uint64(b[feOffset:])+cut)
	le.PutUint64(b[feNumBytes:], length)
	return b
}
