package guest

import (
	"encoding/binary"
	"io/fs"
)

// modeOf reads the mode of inode ino straight from its inode table.
// go-diskfs's directory entries carry only the file type, and its Stat
// finds a file by walking the path from the root, reading the inode of
// every entry of every directory on the way: asking it for each entry of a
// listing cost the square of the directory's size. The read needs no lock
// and no budget: two bytes, at a place loadTables checked.
func (g *ext4Guard) modeOf(ino uint32) (fs.FileMode, bool) {
	if ino == 0 {
		return 0, false
	}
	group := uint64(ino-1) / g.geo.inodesPerGroup
	if group >= uint64(len(g.byGroup)) {
		return 0, false
	}
	off := g.byGroup[group] + int64(uint64(ino-1)%g.geo.inodesPerGroup)*g.geo.inodeSize
	var b [2]byte
	if err := readFull(g.r, g.size, b[:], off); err != nil {
		return 0, false
	}
	return ext4FileMode(binary.LittleEndian.Uint16(b[:]))
}

// ext4FileMode converts an inode's i_mode; ok is false for a type ext4
// does not define.
func ext4FileMode(m uint16) (mode fs.FileMode, ok bool) {
	switch m & 0xf000 {
	case 0x8000:
	case 0x4000:
		mode = fs.ModeDir
	case 0xa000:
		mode = fs.ModeSymlink
	case 0x2000:
		mode = fs.ModeDevice | fs.ModeCharDevice
	case 0x6000:
		mode = fs.ModeDevice
	case 0x1000:
		mode = fs.ModeNamedPipe
	case 0xc000:
		mode = fs.ModeSocket
	default:
		return 0, false
	}
	mode |= fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode, true
}
