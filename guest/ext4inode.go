package guest

import (
	"encoding/binary"
	"fmt"
)

// ext4 inode fields and flags that decide what go-diskfs reads for an inode.
const (
	inodeMode    = 0x0
	inodeSizeLo  = 0x4
	inodeFlags   = 0x20
	inodeBlock   = 0x28 // i_block, 60 bytes: the root of the extent tree
	inodeSizeHi  = 0x6c
	inodeFlagIdx = 0x1000  // hashed directory (htree)
	inodeFlagExt = 0x80000 // extents

	modeType    = 0xf000
	modeDir     = 0x4000
	modeSymlink = 0xa000
)

// inodeBytes is an inode's i_size (both halves): a file's length, a
// directory's or a link target's bytes. A hostile inode may make it
// negative; callers check.
func inodeBytes(b []byte) int64 {
	return int64(binary.LittleEndian.Uint32(b[inodeSizeLo:])) | int64(binary.LittleEndian.Uint32(b[inodeSizeHi:]))<<32
}

// checkInode checks the inode go-diskfs is about to parse (b, read at byte
// off of the partition) for what go-diskfs will do with it: unroll its
// extent tree (every directory it lists, every slow symlink it meets in a
// listing), read a directory or a symlink target whole, and walk a
// directory's htree.
func (g *ext4Guard) checkInode(ino uint32, b []byte, off int64) error {
	mode := binary.LittleEndian.Uint16(b[inodeMode:])
	size := uint64(inodeBytes(b))
	flags := binary.LittleEndian.Uint32(b[inodeFlags:])
	typ := mode & modeType
	if typ == modeSymlink && size < 60 {
		return nil // the target is in the inode; go-diskfs reads no tree
	}
	if flags&inodeFlagExt == 0 {
		return nil // go-diskfs reads no blocks of such an inode
	}
	bad := func(format string, args ...any) error {
		return formatErr(off, "ext4: inode %d: "+format, append([]any{ino}, args...)...)
	}
	switch typ {
	case modeDir:
		if int64(size) < 0 || int64(size) > g.size {
			return bad("directory of %d bytes in a partition of %d", size, g.size)
		}
		if size > maxExt4DirBytes {
			return fmt.Errorf("ext4: inode %d: directory of %d bytes is larger than we read (%d): %w",
				ino, size, maxExt4DirBytes, ErrUnsupported)
		}
	case modeSymlink:
		// The kernel writes a target shorter than a block (and than
		// PATH_MAX); go-diskfs reads size bytes for it.
		if size >= uint64(g.geo.blockSize) {
			return bad("symbolic link target of %d bytes (blocks are %d)", size, g.geo.blockSize)
		}
	}
	w := extentWalk{g: g, ino: ino, at: off, keep: typ == modeDir && flags&inodeFlagIdx != 0}
	if err := w.node(b[inodeBlock:inodeBlock+60], -1, 0, 1<<32); err != nil {
		return err
	}
	if w.keep {
		return g.checkHtree(ino, off, w.extents, size)
	}
	return nil
}

// ext4Extent is one leaf entry of an extent tree.
type ext4Extent struct {
	logical, physical uint64
	raw               uint16 // ee_len as stored: above 32768 for unwritten extents
}

// length is the number of blocks the extent maps.
func (e ext4Extent) length() uint64 {
	if e.raw > 32768 {
		return uint64(e.raw) - 32768
	}
	return uint64(e.raw)
}

// extentWalk checks an extent tree as the kernel does (ext4_ext_check and
// ext4_valid_extent_entries): magic, depth at most 5 and one less at each
// level, entry counts within the node, index keys increasing, extents in
// increasing logical order without overlap and inside the filesystem.
// The walk visits each node once: an index entry's subtree must lie in
// the key range the entry covers, so a node reached twice, or a loop,
// breaks the order; with non-empty nodes, the number of nodes is bounded
// by the number of extents, which is capped.
type extentWalk struct {
	g       *ext4Guard
	ino     uint32
	at      int64 // where the inode lies, for errors
	next    uint64
	count   int    // extents so far
	nodes   int    // nodes so far
	blocks  uint64 // blocks the extents map so far
	keep    bool   // collect the extents (for the htree check)
	extents []ext4Extent
	bufs    [extentMaxDepth][]byte // one node buffer per depth
}

const (
	extentMagic    = 0xf30a
	extentMaxDepth = 5
)

// node checks one node and its subtree; depth is what the parent expects
// (-1 for the root), and every extent must lie in [lo, hi).
func (w *extentWalk) node(b []byte, depth int, lo, hi uint64) error {
	g := w.g
	bad := func(format string, args ...any) error {
		return formatErr(w.at, "ext4: inode %d: extent tree: "+format, append([]any{w.ino}, args...)...)
	}
	if w.nodes++; w.nodes > maxExt4Extents {
		return bad("more than %d nodes", maxExt4Extents)
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
		w.bufs[d-1] = make([]byte, g.geo.blockSize)
	}
	buf := w.bufs[d-1]
	for i := range entries {
		e := b[12+12*i:]
		child := uint64(binary.LittleEndian.Uint32(e[4:])) | uint64(binary.LittleEndian.Uint16(e[8:]))<<32
		if child == 0 || child >= g.geo.blocks {
			return bad("index points at block %d of %d", child, g.geo.blocks)
		}
		if err := g.spend(len(buf)); err != nil {
			return err
		}
		if err := readFull(g.r, g.size, buf, int64(child)*g.geo.blockSize); err != nil {
			return bad("reading block %d: %v", child, err)
		}
		if err := w.node(buf, d-1, key(i), key(i+1)); err != nil {
			return err
		}
	}
	return nil
}

// leaf checks the extents of a leaf node.
func (w *extentWalk) leaf(b []byte, entries int, lo, hi uint64, bad func(string, ...any) error) error {
	g := w.g
	for i := range entries {
		e := b[12+12*i:]
		x := ext4Extent{
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
		case x.physical == 0 || x.physical+n > g.geo.blocks:
			return bad("extent of %d blocks at block %d; the filesystem has %d", n, x.physical, g.geo.blocks)
		}
		w.next = x.logical + n
		w.blocks += n
		if w.count++; w.count > maxExt4Extents {
			return fmt.Errorf("ext4: inode %d: more than %d extents: %w", w.ino, maxExt4Extents, ErrUnsupported)
		}
		if w.blocks > g.geo.blocks {
			return bad("extents map more blocks than the filesystem has (%d)", g.geo.blocks)
		}
		if w.keep {
			w.extents = append(w.extents, x)
		}
	}
	return nil
}
