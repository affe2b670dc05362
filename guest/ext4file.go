package guest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// ext4 inode fields and flags for reading a regular file's content.
const (
	inodeFlagInline = 0x10000000 // data in i_block and the system.data attribute
	inodeExtraSize  = 0x80       // i_extra_isize: in-inode attributes follow the extra fields
	xattrMagic      = 0xea020000
	xattrIndexSys   = 7 // "system." names
	blockMapDirect  = 12
)

// ext4Data reads an ext4 regular file straight from the partition by its
// extents (or, for files without the extents flag, its ext2/ext3 block
// map), or from the inode for inline data. go-diskfs's file reads returned
// wrong bytes and stopped early on ordinary files (a 69,120-byte file of a
// mkfs.ext4 -d image read 65,536 bytes, then failed), so go-diskfs only
// lists ext4 directories; the content is ours.
//
// Blocks no extent maps are holes and unwritten extents read as zeros, as
// the kernel reads them. ext4Data holds no mutable state: concurrent
// ReadAt calls are safe.
type ext4Data struct {
	r         io.ReaderAt // the partition
	size      int64       // of the partition
	blockSize int64
	extents   []ext4Extent // in logical order, not overlapping
	inline    []byte       // the whole content of an inline-data file
}

// fileData reads inode ino and returns how to read its content. Called
// within a diskFS call, whose budget bounds the blocks the extent tree or
// block map may cost to read.
func (g *ext4Guard) fileData(ino uint32) (*ext4Data, error) {
	b, off, err := g.readInode(ino)
	if err != nil {
		return nil, err
	}
	if typ := binary.LittleEndian.Uint16(b[inodeMode:]) & modeType; typ != 0x8000 {
		return nil, formatErr(off, "ext4: inode %d is not a regular file (mode type %#x)", ino, typ)
	}
	return g.fileDataOf(ino, b, off)
}

// fileDataOf maps the content of inode ino, whose slot b was read at off.
func (g *ext4Guard) fileDataOf(ino uint32, b []byte, off int64) (*ext4Data, error) {
	var err error
	size := inodeBytes(b)
	flags := binary.LittleEndian.Uint32(b[inodeFlags:])
	d := &ext4Data{r: g.r, size: g.size, blockSize: g.geo.blockSize}
	switch {
	case flags&inodeFlagInline != 0:
		d.inline, err = g.inlineData(ino, b, off, size)
	case flags&inodeFlagExt != 0:
		w := extentWalk{g: g, ino: ino, at: off, keep: true}
		err = w.node(b[inodeBlock:inodeBlock+60], -1, 0, 1<<32)
		d.extents = w.extents
	default:
		d.extents, err = g.blockMap(ino, b, off, size)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// readInode reads the slot of inode ino: at least the 128 bytes every
// revision has, and the extra fields where the superblock says they are.
// The slot is valid until the next readInode.
func (g *ext4Guard) readInode(ino uint32) ([]byte, int64, error) {
	if ino == 0 {
		return nil, 0, formatErr(0, "ext4: inode 0")
	}
	group := uint64(ino-1) / g.geo.inodesPerGroup
	if group >= uint64(len(g.byGroup)) {
		return nil, 0, formatErr(0, "ext4: inode %d past the last group", ino)
	}
	off := g.byGroup[group] + int64(uint64(ino-1)%g.geo.inodesPerGroup)*g.geo.inodeSize
	// One buffer for every inode read: callers hold the diskFS lock and
	// keep nothing of b past their own call.
	if int64(len(g.inodeBuf)) != g.geo.inodeSize {
		g.inodeBuf = make([]byte, g.geo.inodeSize)
	}
	b := g.inodeBuf
	if err := g.spend(len(b)); err != nil {
		return nil, off, err
	}
	if err := readFull(g.r, g.size, b, off); err != nil {
		return nil, off, formatErr(off, "ext4: reading inode %d: %v", ino, err)
	}
	return b, off, nil
}

// inlineData returns the content of an inline-data file: the first 60
// bytes in i_block, the rest in the value of the in-inode attribute
// "system.data".
func (g *ext4Guard) inlineData(ino uint32, b []byte, off, size int64) ([]byte, error) {
	bad := func(format string, args ...any) error {
		return formatErr(off, "ext4: inode %d: inline data: "+format, append([]any{ino}, args...)...)
	}
	if size < 0 || size > int64(len(b)) {
		return nil, bad("%d bytes in an inode of %d", size, len(b))
	}
	out := make([]byte, 0, size)
	out = append(out, b[inodeBlock:inodeBlock+min(size, 60)]...)
	if size <= 60 {
		return out, nil
	}
	value, err := inodeXattr(b, xattrIndexSys, "data")
	if err != nil {
		return nil, bad("%v", err)
	}
	if int64(len(value)) < size-60 {
		return nil, bad("%d bytes, but i_block and system.data hold %d", size, 60+len(value))
	}
	return append(out, value[:size-60]...), nil
}

// inodeXattr finds an attribute stored in the inode after its extra fields
// and returns its value.
func inodeXattr(b []byte, index byte, name string) ([]byte, error) {
	if len(b) <= inodeExtraSize+2 {
		return nil, errors.New("no room for attributes in a 128-byte inode")
	}
	start := inodeExtraSize + int(binary.LittleEndian.Uint16(b[inodeExtraSize:]))
	if start+4 > len(b) || binary.LittleEndian.Uint32(b[start:]) != xattrMagic {
		return nil, errors.New("no in-inode attributes")
	}
	first := start + 4 // value offsets count from here
	for e := first; e+16 <= len(b); {
		nameLen := int(b[e])
		if nameLen == 0 && b[e+1] == 0 && binary.LittleEndian.Uint16(b[e+2:]) == 0 {
			break // the terminating empty entry
		}
		if e+16+nameLen > len(b) {
			return nil, fmt.Errorf("attribute entry at %d runs past the inode", e)
		}
		vOff := int(binary.LittleEndian.Uint16(b[e+2:]))
		vInum := binary.LittleEndian.Uint32(b[e+4:])
		vSize := int(binary.LittleEndian.Uint32(b[e+8:]))
		if b[e+1] == index && string(b[e+16:e+16+nameLen]) == name {
			if vInum != 0 {
				return nil, fmt.Errorf("value in inode %d (ea_inode): %w", vInum, ErrUnsupported)
			}
			if vSize < 0 || first+vOff+vSize > len(b) || vOff < 0 {
				return nil, fmt.Errorf("value of %d bytes at %d runs past the inode", vSize, vOff)
			}
			return b[first+vOff : first+vOff+vSize], nil
		}
		e += (16 + nameLen + 3) &^ 3
	}
	return nil, fmt.Errorf("no attribute %q", name)
}

// blockMap turns an ext2/ext3 block map (12 direct pointers, then single,
// double and triple indirect blocks) into extents, joining neighbours.
// Zero pointers are holes. Only the blocks the file size covers are
// looked at; every pointer block read is charged to the call's budget, and
// the extents are capped like an extent tree's.
func (g *ext4Guard) blockMap(ino uint32, b []byte, off, size int64) ([]ext4Extent, error) {
	bs := g.geo.blockSize
	if size < 0 {
		return nil, formatErr(off, "ext4: inode %d: negative size", ino)
	}
	m := blockMapper{g: g, ino: ino, at: off, need: uint64((size + bs - 1) / bs), perBlock: uint64(bs / 4)}
	root := b[inodeBlock : inodeBlock+60]
	for i := 0; i < blockMapDirect; i++ {
		if err := m.add(uint64(i), uint64(binary.LittleEndian.Uint32(root[4*i:]))); err != nil {
			return nil, err
		}
	}
	first, span := uint64(blockMapDirect), m.perBlock
	for level := 1; level <= 3; level++ {
		ptr := uint64(binary.LittleEndian.Uint32(root[4*(blockMapDirect+level-1):]))
		if err := m.indirect(ptr, level, first); err != nil {
			return nil, err
		}
		first += span
		span *= m.perBlock
	}
	return m.extents, nil
}

type blockMapper struct {
	g        *ext4Guard
	ino      uint32
	at       int64
	need     uint64 // logical blocks the file size covers
	perBlock uint64 // pointers in one block
	extents  []ext4Extent
}

// indirect reads a pointer block of the given level (1: pointers to data)
// whose first pointer maps logical block first.
func (m *blockMapper) indirect(ptr uint64, level int, first uint64) error {
	if ptr == 0 || first >= m.need {
		return nil // a hole, or past the end of the file
	}
	g := m.g
	if ptr >= g.geo.blocks {
		return formatErr(m.at, "ext4: inode %d: block map points at block %d of %d", m.ino, ptr, g.geo.blocks)
	}
	buf := make([]byte, g.geo.blockSize)
	if err := g.spend(len(buf)); err != nil {
		return err
	}
	if err := readFull(g.r, g.size, buf, int64(ptr)*g.geo.blockSize); err != nil {
		return formatErr(m.at, "ext4: inode %d: reading block map block %d: %v", m.ino, ptr, err)
	}
	span := uint64(1)
	for range level - 1 {
		span *= m.perBlock
	}
	for i := uint64(0); i < m.perBlock; i++ {
		p := uint64(binary.LittleEndian.Uint32(buf[4*i:]))
		logical := first + i*span
		if logical >= m.need {
			break
		}
		var err error
		if level == 1 {
			err = m.add(logical, p)
		} else {
			err = m.indirect(p, level-1, logical)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// add maps logical block l to physical block p (0: a hole).
func (m *blockMapper) add(l, p uint64) error {
	if p == 0 || l >= m.need {
		return nil
	}
	if p >= m.g.geo.blocks {
		return formatErr(m.at, "ext4: inode %d: block map points at block %d of %d", m.ino, p, m.g.geo.blocks)
	}
	if n := len(m.extents); n > 0 {
		last := &m.extents[n-1]
		if last.logical+uint64(last.raw) == l && last.physical+uint64(last.raw) == p && last.raw < 32768 {
			last.raw++
			return nil
		}
	}
	if len(m.extents) >= maxExt4Extents {
		return fmt.Errorf("ext4: inode %d: more than %d extents: %w", m.ino, maxExt4Extents, ErrUnsupported)
	}
	m.extents = append(m.extents, ext4Extent{logical: l, physical: p, raw: 1})
	return nil
}

// readAt fills p from file offset off; the caller has cut p at the file
// size.
func (d *ext4Data) readAt(p []byte, off int64) (int, error) {
	if d.inline != nil || len(d.extents) == 0 {
		clear(p)
		if off < int64(len(d.inline)) {
			copy(p, d.inline[off:])
		}
		return len(p), nil
	}
	bs := d.blockSize
	i := sort.Search(len(d.extents), func(i int) bool {
		e := d.extents[i]
		return int64(e.logical+e.length())*bs > off
	})
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if i >= len(d.extents) || int64(d.extents[i].logical)*bs > pos {
			// A hole up to the next extent (or the end).
			end := int64(len(p))
			if i < len(d.extents) {
				end = min(end, int64(d.extents[i].logical)*bs-off)
			}
			clear(p[n:end])
			n = int(end)
			continue
		}
		e := d.extents[i]
		extEnd := int64(e.logical+e.length()) * bs
		chunk := p[n:min(int64(len(p)), extEnd-off)]
		if e.raw > 32768 { // unwritten: zeros until written
			clear(chunk)
		} else {
			at := int64(e.physical)*bs + pos - int64(e.logical)*bs
			if err := readFull(d.r, d.size, chunk, at); err != nil {
				return n, fmt.Errorf("reading file data at byte %d of the partition: %w", at, err)
			}
		}
		n += len(chunk)
		i++
	}
	return n, nil
}

// linkTarget reads the target of symlink inode ino: in i_block when it is
// shorter than 60 bytes (a "fast" link), else in the link's data, like a
// file's.
func (g *ext4Guard) linkTarget(ino uint32) (string, error) {
	b, off, err := g.readInode(ino)
	if err != nil {
		return "", err
	}
	if typ := binary.LittleEndian.Uint16(b[inodeMode:]) & modeType; typ != modeSymlink {
		return "", formatErr(off, "ext4: inode %d is not a symbolic link (mode type %#x)", ino, typ)
	}
	size := inodeBytes(b)
	flags := binary.LittleEndian.Uint32(b[inodeFlags:])
	if size <= 0 || size >= g.geo.blockSize || size >= 4096 {
		// The kernel writes targets shorter than a block and than PATH_MAX.
		return "", formatErr(off, "ext4: inode %d: symbolic link target of %d bytes", ino, size)
	}
	var target []byte
	switch {
	case flags&inodeFlagInline != 0:
		target, err = g.inlineData(ino, b, off, size)
	case size < 60 && flags&inodeFlagExt == 0:
		target = b[inodeBlock : inodeBlock+size]
	default:
		var d *ext4Data
		if d, err = g.fileDataOf(ino, b, off); err == nil {
			target = make([]byte, size)
			_, err = d.readAt(target, 0)
		}
	}
	if err != nil {
		return "", err
	}
	return string(target), nil
}

// byteExtents maps the extents that start before size, in whole blocks:
// blocks no extent maps are absent, unwritten extents allocated zeros. Inline data lies in the
// inode, not one to one in blocks: not exact.
func (d *ext4Data) byteExtents(size int64) ([]Extent, bool) {
	if d.inline != nil {
		return nil, false
	}
	bs := d.blockSize
	var out []Extent
	hole := func(from, to int64) {
		if to > from {
			out = append(out, Extent{FileOff: from, VolOff: -1, Len: to - from, Kind: ExtentAbsent})
		}
	}
	pos := int64(0)
	for _, e := range d.extents {
		if pos >= size {
			break
		}
		start := int64(e.logical) * bs
		hole(pos, min(start, size))
		// Whole blocks, as allocated: the last one may run past the size.
		n := min(int64(e.length())*bs, (size-start+bs-1)/bs*bs)
		if n <= 0 {
			continue
		}
		kind := ExtentData
		if e.raw > 32768 {
			kind = ExtentZero
		}
		out = append(out, Extent{FileOff: start, VolOff: int64(e.physical) * bs, Len: n, Kind: kind})
		pos = start + n
	}
	hole(pos, size)
	return out, true
}
