package btrfs

import (
	"encoding/binary"
	"time"
)

// Item types (btrfs_key.type).
const (
	typInodeItem  = 1
	typInodeRef   = 12
	typXattr      = 24
	typDirItem    = 84
	typDirIndex   = 96
	typExtentData = 108
	typExtentCsum = 128
	typRootItem   = 132
	typRootRef    = 156
)

// Well-known object ids.
const (
	rootTreeID       = 1
	chunkTreeID      = 3
	fsTreeID         = 5
	rootTreeDirID    = 6
	csumTreeID       = 7
	firstFreeID      = 256
	emptySubvolDirID = 2 // BTRFS_EMPTY_SUBVOL_DIR_OBJECTID: a snapshot's stand-in for a nested subvolume
	extentCsumID     = ^uint64(0) - 9
	lastFreeID       = ^uint64(0) - 255
)

// Inode flags this reader honours.
const inodeNoDataSum = 1 << 0

const inodeItemSize = 160

// inode is the part of btrfs_inode_item the reader shows.
type inode struct {
	size  uint64
	nlink uint32
	uid   uint32
	gid   uint32
	mode  uint32
	rdev  uint64
	flags uint64
	atime time.Time
	ctime time.Time
	mtime time.Time
	otime time.Time
}

func parseTime(b []byte) time.Time {
	sec := int64(binary.LittleEndian.Uint64(b))
	nsec := int64(binary.LittleEndian.Uint32(b[8:]))
	if nsec >= 1e9 {
		nsec = 0 // a hostile value; the kernel would not have written it
	}
	return time.Unix(sec, nsec)
}

func parseInode(b []byte) (inode, bool) {
	if len(b) < inodeItemSize {
		return inode{}, false
	}
	le := binary.LittleEndian
	return inode{
		size:  le.Uint64(b[16:]),
		nlink: le.Uint32(b[40:]),
		uid:   le.Uint32(b[44:]),
		gid:   le.Uint32(b[48:]),
		mode:  le.Uint32(b[52:]),
		rdev:  le.Uint64(b[56:]),
		flags: le.Uint64(b[64:]),
		atime: parseTime(b[112:]),
		ctime: parseTime(b[124:]),
		mtime: parseTime(b[136:]),
		otime: parseTime(b[148:]),
	}, true
}

// dirEntry is one btrfs_dir_item: in DIR_ITEM, DIR_INDEX and XATTR_ITEM
// items. Several can be packed in one item when names collide by hash.
type dirEntry struct {
	location key
	typ      uint8
	name     []byte
	data     []byte
}

const dirItemSize = 30

// Directory entry types (btrfs_dir_item.type).
const (
	ftUnknown = iota
	ftReg
	ftDir
	ftChr
	ftBlk
	ftFifo
	ftSock
	ftSymlink
	ftXattr
)

// parseDirItems decodes the entries packed in one item. It stops at the
// first one that does not fit, reporting false.
func parseDirItems(b []byte, fn func(dirEntry) bool) bool {
	le := binary.LittleEndian
	for len(b) > 0 {
		if len(b) < dirItemSize {
			return false
		}
		dataLen := int(le.Uint16(b[25:]))
		nameLen := int(le.Uint16(b[27:]))
		if dirItemSize+nameLen+dataLen > len(b) || nameLen == 0 {
			return false
		}
		e := dirEntry{location: parseKey(b), typ: b[29]}
		e.name = b[dirItemSize : dirItemSize+nameLen]
		e.data = b[dirItemSize+nameLen : dirItemSize+nameLen+dataLen]
		if !fn(e) {
			return true
		}
		b = b[dirItemSize+nameLen+dataLen:]
	}
	return true
}

// rootItem is the part of btrfs_root_item that locates a tree.
type rootItem struct {
	dirID uint64
	tree  root
	refs  uint32
	flags uint64
	otime time.Time
	uuid  [16]byte
}

const rootItemMinSize = 239

func parseRootItem(b []byte) (rootItem, bool) {
	if len(b) < rootItemMinSize {
		return rootItem{}, false
	}
	le := binary.LittleEndian
	r := rootItem{
		dirID: le.Uint64(b[168:]),
		tree:  root{bytenr: le.Uint64(b[176:]), level: b[238], gen: le.Uint64(b[160:])},
		flags: le.Uint64(b[208:]),
		refs:  le.Uint32(b[216:]),
	}
	// The extended item (generation_v2 == generation) carries uuids
	// and times.
	if len(b) >= 439 && le.Uint64(b[239:]) == r.tree.gen {
		copy(r.uuid[:], b[247:263])
		r.otime = parseTime(b[339:])
	}
	return r, true
}

// rootRef is a btrfs_root_ref: subvolume child is linked in its parent
// subvolume as name in directory dirID.
type rootRef struct {
	dirID uint64
	name  []byte
}

func parseRootRef(b []byte) (rootRef, bool) {
	if len(b) < 18 {
		return rootRef{}, false
	}
	n := int(binary.LittleEndian.Uint16(b[16:]))
	if 18+n > len(b) {
		return rootRef{}, false
	}
	return rootRef{dirID: binary.LittleEndian.Uint64(b), name: b[18 : 18+n]}, true
}

// Extent types (btrfs_file_extent_item.type).
const (
	extInline   = 0
	extRegular  = 1
	extPrealloc = 2
)

// Compression types.
const (
	compNone = 0
	compZlib = 1
	compLZO  = 2
	compZstd = 3
)

// fileExtent is one EXTENT_DATA item of a file.
type fileExtent struct {
	fileOff     uint64
	length      uint64 // bytes of the file it covers
	typ         uint8
	compression uint8
	ramBytes    uint64
	diskBytenr  uint64 // 0: a hole
	diskBytes   uint64
	offset      uint64 // into the (decompressed) disk extent
	inline      []byte
}

const extentHeaderSize = 21

func parseFileExtent(fileOff uint64, b []byte, off int64) (fileExtent, error) {
	le := binary.LittleEndian
	if len(b) < extentHeaderSize {
		return fileExtent{}, formatErr(off, "file extent item of %d bytes", len(b))
	}
	e := fileExtent{fileOff: fileOff, ramBytes: le.Uint64(b[8:]), compression: b[16], typ: b[20]}
	if b[17] != 0 || le.Uint16(b[18:]) != 0 {
		return e, kindErr(ErrUnsupported, off, "file extent encryption %d / encoding %d", b[17], le.Uint16(b[18:]))
	}
	switch e.typ {
	case extInline:
		e.inline = b[extentHeaderSize:]
		e.length = e.ramBytes
		if e.compression == compNone {
			e.length = uint64(len(e.inline))
		}
	case extRegular, extPrealloc:
		if len(b) < extentHeaderSize+32 {
			return e, formatErr(off, "file extent item of %d bytes", len(b))
		}
		e.diskBytenr = le.Uint64(b[21:])
		e.diskBytes = le.Uint64(b[29:])
		e.offset = le.Uint64(b[37:])
		e.length = le.Uint64(b[45:])
	default:
		return e, formatErr(off, "file extent type %d", e.typ)
	}
	if e.compression > compZstd {
		return e, kindErr(ErrUnsupported, off, "compression type %d", e.compression)
	}
	return e, nil
}
