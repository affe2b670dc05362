package xfs

import (
	"encoding/binary"
	"io/fs"
	"sort"
	"strings"
)

// Directory entry file types (ftype feature).
const (
	ftUnknown = 0
	ftReg     = 1
	ftDir     = 2
	ftChr     = 3
	ftBlk     = 4
	ftFifo    = 5
	ftSock    = 6
	ftSymlink = 7
)

const (
	dirDataMagicBlockV4 = 0x58443242 // "XD2B": single-block directory
	dirDataMagicBlockV5 = 0x58444233 // "XDB3"
	dirDataMagicV4      = 0x58443244 // "XD2D": data block of a leaf/node directory
	dirDataMagicV5      = 0x58444433 // "XDD3"
	// dirLeafOffset is where the leaf and free-index blocks of a
	// directory start (32 GiB into the fork); data blocks lie below it.
	dirLeafOffset = 32 << 30
)

// dirent is one name in a directory.
type dirent struct {
	name  string
	ino   uint64
	ftype uint8
}

// readDir lists a directory inode, sorted by name, without "." and "..",
// through a cache of recent listings.
func (v *FS) readDir(b *budget, in *inode) ([]dirent, error) {
	ents, ok := v.dirs.Get(in.ino)
	if ok {
		return ents, nil
	}
	var err error
	switch in.format {
	case fmtLocal:
		ents, err = v.shortformDir(in)
	default:
		ents, err = v.blockDir(b, in)
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].name < ents[j].name })
	for i := 1; i < len(ents); i++ {
		if ents[i].name == ents[i-1].name {
			return nil, formatErr(in.off, "directory inode %d: name %q twice", in.ino, ents[i].name)
		}
	}
	v.dirs.Put(in.ino, ents)
	return ents, nil
}

// shortformDir decodes a directory held in the inode: a header with the
// entry count and the parent, then entries of name, optional file type
// and a 4- or 8-byte inode number.
func (v *FS) shortformDir(in *inode) ([]dirent, error) {
	b := in.dfork[:in.size]
	if len(b) < 6 {
		return nil, formatErr(in.off, "directory inode %d: short form of %d bytes", in.ino, len(b))
	}
	count, i8 := int(b[0]), b[1]
	inoLen := 4
	if i8 != 0 {
		inoLen = 8
	}
	p := 2 + inoLen
	ents := make([]dirent, 0, count)
	for range count {
		if p+3 > len(b) {
			return nil, formatErr(in.off, "directory inode %d: short form entry past its end", in.ino)
		}
		nl := int(b[p])
		p += 3
		e := p + nl + inoLen
		if v.sb.ftype {
			e++
		}
		if nl == 0 || e > len(b) {
			return nil, formatErr(in.off, "directory inode %d: short form entry of name length %d past its end", in.ino, nl)
		}
		d := dirent{name: string(b[p : p+nl])}
		p += nl
		if v.sb.ftype {
			d.ftype = b[p]
			p++
		}
		if inoLen == 8 {
			d.ino = binary.BigEndian.Uint64(b[p:])
		} else {
			d.ino = uint64(binary.BigEndian.Uint32(b[p:]))
		}
		p = e
		if !validName(d.name) {
			return nil, formatErr(in.off, "directory inode %d: entry named %q", in.ino, d.name)
		}
		ents = append(ents, d)
	}
	return ents, nil
}

// blockDir lists a directory in extents or btree form: every data block
// below the leaf offset, whatever the form (block, leaf, node), holds the
// entries; the leaf and free blocks only index them.
func (v *FS) blockDir(b *budget, in *inode) ([]dirent, error) {
	exts, err := v.forkExtents(b, in, false)
	if err != nil {
		return nil, err
	}
	sb := v.sb
	dbs := sb.dirBlockSize()
	fsbPer := uint64(1) << sb.dirBlkLog
	limit := uint64(dirLeafOffset) >> sb.blockLog
	var ents []dirent
	next := uint64(0) // first directory block not read yet
	for _, e := range exts {
		if e.off >= limit {
			break
		}
		for db := max(e.off&^(fsbPer-1), next); db < e.off+e.n && db < limit; db += fsbPer {
			next = db + fsbPer
			buf, at, ok, err := v.readBlocks(b, exts, db, dbs)
			if err != nil {
				return nil, err
			}
			if !ok { // partly a hole: not a block the kernel would use
				continue
			}
			if ents, err = v.dataBlock(in, buf, at, ents); err != nil {
				return nil, err
			}
		}
	}
	return ents, nil
}

// dataBlock appends the entries of one directory data block.
func (v *FS) dataBlock(in *inode, blk []byte, at int64, ents []dirent) ([]dirent, error) {
	be := binary.BigEndian
	hdr := 16
	v5 := v.sb.hasCRC()
	if v5 {
		hdr = 64
	}
	magic := be.Uint32(blk)
	end := len(blk)
	switch {
	case !v5 && magic == dirDataMagicBlockV4, v5 && magic == dirDataMagicBlockV5:
		// A single-block directory ends with its hash leaf and a tail
		// (count, stale): entries stop before them.
		count := int64(be.Uint32(blk[len(blk)-8:]))
		if count > int64(len(blk)-hdr-8)/8 {
			return nil, formatErr(at, "directory inode %d: block tail of %d leaf entries", in.ino, count)
		}
		end = len(blk) - 8 - int(count)*8
	case !v5 && magic == dirDataMagicV4, v5 && magic == dirDataMagicV5:
	default:
		return nil, formatErr(at, "directory inode %d: no directory data block magic (0x%08x)", in.ino, magic)
	}
	if v5 {
		if err := v.checkCRC(blk, 4, at); err != nil {
			return nil, err
		}
		if owner := be.Uint64(blk[40:]); owner != in.ino {
			return nil, formatErr(at, "directory inode %d: data block owned by inode %d", in.ino, owner)
		}
	}
	for p := hdr; p < end; {
		if p+8 > end {
			return nil, formatErr(at+int64(p), "directory inode %d: entry past the block's end", in.ino)
		}
		if be.Uint16(blk[p:]) == 0xffff { // unused space: freetag, length
			n := int(be.Uint16(blk[p+2:]))
			if n < 8 || n%8 != 0 || n > end-p {
				return nil, formatErr(at+int64(p), "directory inode %d: free space of %d bytes", in.ino, n)
			}
			p += n
			continue
		}
		nl := int(blk[p+8])
		size := 8 + 1 + nl + 2
		if v.sb.ftype {
			size++
		}
		size = (size + 7) &^ 7
		if nl == 0 || size > end-p {
			return nil, formatErr(at+int64(p), "directory inode %d: entry of name length %d past the block's end", in.ino, nl)
		}
		d := dirent{ino: be.Uint64(blk[p:]), name: string(blk[p+9 : p+9+nl])}
		if v.sb.ftype {
			d.ftype = blk[p+9+nl]
		}
		p += size
		if d.name == "." || d.name == ".." {
			continue
		}
		if !validName(d.name) {
			return nil, formatErr(at+int64(p-size), "directory inode %d: entry named %q", in.ino, d.name)
		}
		if len(ents) >= maxDirEntries {
			return nil, kindErr(ErrRange, at, "directory inode %d: more than %d entries", in.ino, maxDirEntries)
		}
		ents = append(ents, d)
	}
	return ents, nil
}

// validName refuses names Linux could not have created, which would
// break paths: empty, ".", "..", or holding '/' or NUL.
func validName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, "/\x00")
}

// ftypeMode turns a directory entry's file type into the io/fs type bits;
// ok is false when the entry does not say (no ftype feature).
func ftypeMode(t uint8) (fs.FileMode, bool) {
	switch t {
	case ftReg:
		return 0, true
	case ftDir:
		return fs.ModeDir, true
	case ftChr:
		return fs.ModeDevice | fs.ModeCharDevice, true
	case ftBlk:
		return fs.ModeDevice, true
	case ftFifo:
		return fs.ModeNamedPipe, true
	case ftSock:
		return fs.ModeSocket, true
	case ftSymlink:
		return fs.ModeSymlink, true
	}
	return 0, false
}
