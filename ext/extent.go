package ext

import "encoding/binary"

// extent is one leaf entry of an extent tree (or a run of a block map).
type extent struct {
	logical, physical uint64
	raw               uint16 // ee_len as stored: above 32768 for unwritten extents
}

// length is the number of blocks the extent maps.
func (e extent) length() uint64 {
	if e.raw > 32768 {
		return uint64(e.raw) - 32768
	}
	return uint64(e.raw)
}

// unwritten tells a preallocated extent, which reads as zeros.
func (e extent) unwritten() bool { return e.raw > 32768 }

// extentWalk reads an extent tree and checks it as the kernel does
// (ext4_ext_check and ext4_valid_extent_entries): magic, depth at most 5
// and one less at each level, entry counts within the node, index keys
// increasing, extents in increasing logical order without overlap and
// inside the filesystem. The walk visits each node once: an index entry's
// subtree must lie in the key range the entry covers, so a node reached
// twice, or a loop, breaks the order; with non-empty nodes, the number of
// nodes is bounded by the number of extents, which is capped.
type extentWalk struct {
	v       *FS
	ino     uint32
	at      int64 // where the inode lies, for errors
	next    uint64
	nodes   int
	blocks  uint64 // blocks the extents map so far
	extents []extent
	bufs    [extentMaxDepth][]byte // one node buffer per depth
}

const (
	extentMagic    = 0xf30a
	extentMaxDepth = 5
)

// node reads one node and its subtree; depth is what the parent expects
// (-1 for the root), and every extent must lie in [lo, hi).
func (w *extentWalk) node(b []byte, depth int, lo, hi uint64) error {
	v := w.v
	bad := func(format string, args ...any) error {
		return formatErr(w.at, "inode %d: extent tree: "+format, append([]any{w.ino}, args...)...)
	}
	if w.nodes++; w.nodes > maxExtents {
		return bad("more than %d nodes", maxExtents)
	}
	if binary.LittleEndian.Uint16(b) != extentMagic {
		return bad("node without the extent magic")
	}
	entries := int(binary.LittleEndian.Uint16(b[2:]))
	limit := int(binary.LittleEndian.Uint16(b[4:]))
	d := int(binary.LittleEndian.Uint16(b[6:]))
	switch {
	case depth < 0 && d > extentMaxDepth:
		return bad("depth %d (at most %d)", d, extentMaxDepth)
	case depth >= 0 && d != depth:
		return bad("node of depth %d where %d belongs", d, depth)
	case limit > (len(b)-12)/12 || entries > limit:
		return bad("%d entries of %d in a node with room for %d", entries, limit, (len(b)-12)/12)
	case entries == 0 && d > 0:
		return bad("empty index node")
	}
	if d == 0 {
		return w.leaf(b, entries, lo, hi, bad)
	}
	key := func(i int) uint64 {
		if i == entries {
			return hi
		}
		return uint64(binary.LittleEndian.Uint32(b[12+12*i:]))
	}
	for i := range entries {
		if k := key(i); k < lo || k >= key(i+1) {
			return bad("index key %d out of order or outside [%d, %d)", k, lo, hi)
		}
	}
	// b stays untouched below: each depth reads its children into its
	// own buffer.
	if w.bufs[d-1] == nil {
		w.bufs[d-1] = make([]byte, v.geo.blockSize)
	}
	buf := w.bufs[d-1]
	for i := range entries {
		e := b[12+12*i:]
		child := uint64(binary.LittleEndian.Uint32(e[4:])) | uint64(binary.LittleEndian.Uint16(e[8:]))<<32
		if child == 0 || child >= v.geo.blocks {
			return bad("index points at block %d of %d", child, v.geo.blocks)
		}
		if err := readFull(v.r, v.size, buf, int64(child)*v.geo.blockSize); err != nil {
			return bad("reading block %d: %v", child, err)
		}
		if err := w.node(buf, d-1, key(i), key(i+1)); err != nil {
			return err
		}
	}
	return nil
}

// leaf checks and keeps the extents of a leaf node.
func (w *extentWalk) leaf(b []byte, entries int, lo, hi uint64, bad func(string, ...any) error) error {
	v := w.v
	for i := range entries {
		e := b[12+12*i:]
		x := extent{
			logical:  uint64(binary.LittleEndian.Uint32(e)),
			raw:      binary.LittleEndian.Uint16(e[4:]),
			physical: uint64(binary.LittleEndian.Uint16(e[6:]))<<32 | uint64(binary.LittleEndian.Uint32(e[8:])),
		}
		n := x.length()
		switch {
		case n == 0:
			return bad("extent of no blocks")
		case x.logical < lo || x.logical < w.next || x.logical+n > hi:
			return bad("extent at file block %d out of order", x.logical)
		case x.physical == 0 || x.physical+n > v.geo.blocks:
			return bad("extent of %d blocks at block %d; the filesystem has %d", n, x.physical, v.geo.blocks)
		}
		w.next = x.logical + n
		w.blocks += n
		if len(w.extents) >= maxExtents {
			return unsupported("inode %d: more than %d extents", w.ino, maxExtents)
		}
		if w.blocks > v.geo.blocks {
			return bad("extents map more blocks than the filesystem has (%d)", v.geo.blocks)
		}
		w.extents = append(w.extents, x)
	}
	return nil
}

// blockMap turns an ext2/ext3 block map (12 direct pointers, then single,
// double and triple indirect blocks) into extents, joining neighbours.
// Zero pointers are holes. Only the blocks the file size covers are
// looked at, and the extents are capped like an extent tree's.
func (v *FS) blockMap(in *inode, size int64) ([]extent, error) {
	bs := v.geo.blockSize
	if size < 0 {
		return nil, formatErr(in.off, "inode %d: negative size", in.ino)
	}
	m := blockMapper{v: v, ino: in.ino, at: in.off, need: uint64((size + bs - 1) / bs), perBlock: uint64(bs / 4)}
	root := in.iblock()
	for i := range blockMapDirect {
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

const blockMapDirect = 12

type blockMapper struct {
	v        *FS
	ino      uint32
	at       int64
	need     uint64 // logical blocks the file size covers
	perBlock uint64 // pointers in one block
	extents  []extent
	reads    int
}

// indirect reads a pointer block of the given level (1: pointers to data)
// whose first pointer maps logical block first.
func (m *blockMapper) indirect(ptr uint64, level int, first uint64) error {
	if ptr == 0 || first >= m.need {
		return nil // a hole, or past the end of the file
	}
	v := m.v
	if ptr >= v.geo.blocks {
		return formatErr(m.at, "inode %d: block map points at block %d of %d", m.ino, ptr, v.geo.blocks)
	}
	if m.reads++; m.reads > maxExtents {
		return unsupported("inode %d: more than %d block map blocks", m.ino, maxExtents)
	}
	buf := make([]byte, v.geo.blockSize)
	if err := readFull(v.r, v.size, buf, int64(ptr)*v.geo.blockSize); err != nil {
		return formatErr(m.at, "inode %d: reading block map block %d: %v", m.ino, ptr, err)
	}
	span := uint64(1)
	for range level - 1 {
		span *= m.perBlock
	}
	for i := range m.perBlock {
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
	if p >= m.v.geo.blocks {
		return formatErr(m.at, "inode %d: block map points at block %d of %d", m.ino, p, m.v.geo.blocks)
	}
	if n := len(m.extents); n > 0 {
		last := &m.extents[n-1]
		if last.logical+uint64(last.raw) == l && last.physical+uint64(last.raw) == p && last.raw < 32768 {
			last.raw++
			return nil
		}
	}
	if len(m.extents) >= maxExtents {
		return unsupported("inode %d: more than %d extents", m.ino, maxExtents)
	}
	m.extents = append(m.extents, extent{logical: l, physical: p, raw: 1})
	return nil
}
