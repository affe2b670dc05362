package guest

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"time"
)

// Our own ext directory reading, for what go-diskfs cannot list: ext2 and
// ext3 (directories in block maps) and ext4 with inline data (small
// directories kept in the inode). Directory blocks are read in order and
// their entries taken one after another; an htree's index blocks hide
// inside entries that name no inode, so they are skipped like deleted
// entries, as the kernel's readdir does.

// ext4 inode fields beyond those ext4inode.go names.
const (
	inodeATime   = 0x08
	inodeCTime   = 0x0c
	inodeMTime   = 0x10
	inodeLinks   = 0x1a
	inodeCTimeX  = 0x84
	inodeMTimeX  = 0x88
	inodeATimeX  = 0x8c
	inodeCrTime  = 0x90
	inodeCrTimeX = 0x94

	rootInode = 2
	// maxExtEntries bounds one listing: each entry costs a few hundred
	// bytes until the listing is dropped.
	maxExtEntries  = 1 << 20
	incompatFType  = 0x2 // directory entries carry the file type
	dirEntryHeader = 8
)

// extEntry is one name of a directory.
type extEntry struct {
	name string
	ino  uint32
}

// listDir reads the entries of directory inode ino, without "." and "..".
func (g *ext4Guard) listDir(ino uint32) ([]extEntry, error) {
	b, off, err := g.readInode(ino)
	if err != nil {
		return nil, err
	}
	if typ := binary.LittleEndian.Uint16(b[inodeMode:]) & modeType; typ != modeDir {
		return nil, formatErr(off, "ext4: inode %d is not a directory (mode type %#x)", ino, typ)
	}
	size := inodeBytes(b)
	if size < 0 || size > maxExt4DirBytes {
		return nil, fmt.Errorf("ext4: inode %d: directory of %d bytes is larger than we read (%d): %w",
			ino, size, maxExt4DirBytes, ErrUnsupported)
	}
	flags := binary.LittleEndian.Uint32(b[inodeFlags:])
	if flags&inodeFlagInline != 0 {
		data, err := g.inlineData(ino, b, off, size)
		if err != nil {
			return nil, err
		}
		if len(data) < 4 {
			return nil, formatErr(off, "ext4: inode %d: inline directory of %d bytes", ino, len(data))
		}
		// Four bytes of parent inode, then entries up to the end of
		// i_block, then more in system.data.
		var out []extEntry
		for _, part := range [][]byte{data[4:min(len(data), 60)], data[min(len(data), 60):]} {
			if out, err = g.parseEntries(out, part, off); err != nil {
				return nil, fmt.Errorf("ext4: inode %d: %w", ino, err)
			}
		}
		return out, nil
	}
	d, err := g.fileDataOf(ino, b, off)
	if err != nil {
		return nil, err
	}
	if err := g.spend(int(size)); err != nil {
		return nil, err
	}
	data := make([]byte, size)
	if _, err := d.readAt(data, 0); err != nil {
		return nil, err
	}
	var out []extEntry
	for blk := int64(0); blk < size; blk += g.geo.blockSize {
		if out, err = g.parseEntries(out, data[blk:min(size, blk+g.geo.blockSize)], off); err != nil {
			return nil, fmt.Errorf("ext4: inode %d, directory block %d: %w", ino, blk/g.geo.blockSize, err)
		}
	}
	return out, nil
}

// parseEntries appends the named entries of one directory block (or inline
// area) to out.
func (g *ext4Guard) parseEntries(out []extEntry, b []byte, at int64) ([]extEntry, error) {
	for i := 0; i+dirEntryHeader <= len(b); {
		ino := binary.LittleEndian.Uint32(b[i:])
		rec := int(binary.LittleEndian.Uint16(b[i+4:]))
		if rec == 0 || rec == 65535 && g.geo.blockSize == 65536 {
			rec = 65536 // how a 64 KiB block's one entry records its length
		}
		nameLen := int(b[i+6])
		if !g.geo.fileTypes {
			nameLen = int(binary.LittleEndian.Uint16(b[i+6:]))
		}
		if rec < dirEntryHeader || rec%4 != 0 || i+rec > len(b) || dirEntryHeader+nameLen > rec {
			return out, formatErr(at, "entry at byte %d: %d bytes with a name of %d, %d bytes left", i, rec, nameLen, len(b)-i)
		}
		name := string(b[i+dirEntryHeader : i+dirEntryHeader+nameLen])
		if ino != 0 && name != "." && name != ".." {
			if uint64(ino) > uint64(len(g.byGroup))*g.geo.inodesPerGroup {
				return out, formatErr(at, "entry %q names inode %d past the last", name, ino)
			}
			if len(out) >= maxExtEntries {
				return out, fmt.Errorf("more than %d entries: %w", maxExtEntries, ErrUnsupported)
			}
			out = append(out, extEntry{name: name, ino: ino})
		}
		i += rec
	}
	return out, nil
}

// extStat is FileInfo.Sys() of our own ext listings: the tree above reads
// the identity, link count and times through its optional interfaces.
type extStat struct {
	Ino                  uint32
	Links                int
	UID, GID             uint32
	perm                 uint32    // i_mode's permission, set-id and sticky bits
	atime, ctime, crtime time.Time // crtime zero when the inode has none
	mtime                time.Time
	mode                 fs.FileMode
	size                 int64
	gen                  uint32  // i_generation
	d                    *diskFS // reads the extended attributes; nil in tests
}

func (s *extStat) FileID() uint64          { return uint64(s.Ino) }
func (s *extStat) LinkCount() int          { return s.Links }
func (s *extStat) AccessTime() time.Time   { return s.atime }
func (s *extStat) ChangeTime() time.Time   { return s.ctime }
func (s *extStat) CreationTime() time.Time { return s.crtime }

// POSIXAttributes returns the permission bits (with set-id and sticky) and
// the owner, for a tree that shows them.
func (s *extStat) POSIXAttributes() (perm, uid, gid uint32) { return s.perm, s.UID, s.GID }

// statInode reads what a listing shows of inode ino.
func (g *ext4Guard) statInode(ino uint32) (*extStat, error) {
	b, off, err := g.readInode(ino)
	if err != nil {
		return nil, err
	}
	mode, ok := ext4FileMode(binary.LittleEndian.Uint16(b[inodeMode:]))
	if !ok {
		return nil, formatErr(off, "ext4: inode %d has mode %#o", ino, binary.LittleEndian.Uint16(b[inodeMode:]))
	}
	le32 := func(o int) uint32 { return binary.LittleEndian.Uint32(b[o:]) }
	s := &extStat{Ino: ino, mode: mode, perm: uint32(binary.LittleEndian.Uint16(b[inodeMode:])) & 0o7777,
		Links: int(binary.LittleEndian.Uint16(b[inodeLinks:])),
		UID:   uint32(binary.LittleEndian.Uint16(b[0x2:])) | uint32(binary.LittleEndian.Uint16(b[0x78:]))<<16,
		GID:   uint32(binary.LittleEndian.Uint16(b[0x18:])) | uint32(binary.LittleEndian.Uint16(b[0x7a:]))<<16,
		size:  inodeBytes(b),
		gen:   le32(0x64),
	}
	// The extra fields carry nanoseconds and two more bits of seconds,
	// when the inode is large enough to hold them.
	extra := 0
	if len(b) > inodeExtraSize+2 {
		extra = inodeExtraSize + int(binary.LittleEndian.Uint16(b[inodeExtraSize:]))
	}
	stamp := func(sec, x int) time.Time {
		secs := int64(int32(le32(sec)))
		var nsec int64
		if x+4 <= extra && x+4 <= len(b) {
			v := le32(x)
			secs += int64(v&3) << 32
			nsec = int64(v >> 2)
		}
		return time.Unix(secs, min(nsec, 999999999)).UTC()
	}
	s.atime, s.ctime, s.mtime = stamp(inodeATime, inodeATimeX), stamp(inodeCTime, inodeCTimeX), stamp(inodeMTime, inodeMTimeX)
	if inodeCrTime+4 <= extra && inodeCrTime+4 <= len(b) {
		s.crtime = stamp(inodeCrTime, inodeCrTimeX)
	}
	return s, nil
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
