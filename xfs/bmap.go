package xfs

import (
	"encoding/binary"
	"sort"
)

// bext is one extent of a fork: n blocks at file block off map to the
// filesystem block blk. Unwritten (preallocated) extents read as zeros.
type bext struct {
	off, blk, n uint64
	unwritten   bool
}

const (
	bmapMagicV4 = 0x424d4150 // "BMAP"
	bmapMagicV5 = 0x424d4133 // "BMA3"
	maxFileOff  = 1<<54 - 1  // file block offsets have 54 bits
)

// decodeExtent unpacks a 128-bit packed extent record: flag (1 bit),
// file offset (54), start block (52), block count (21).
func decodeExtent(b []byte) bext {
	l0 := binary.BigEndian.Uint64(b)
	l1 := binary.BigEndian.Uint64(b[8:])
	return bext{
		unwritten: l0>>63 != 0,
		off:       (l0 &^ (1 << 63)) >> 9,
		blk:       (l0&0x1ff)<<43 | l1>>21,
		n:         l1 & (1<<21 - 1),
	}
}

// extentList gathers a fork's extents in file order, checking that they
// are ordered and do not overlap, which also stops a B+tree that visits
// one leaf twice.
type extentList struct {
	v    *FS
	b    *budget
	ino  uint64
	exts []bext
}

func (l *extentList) add(e bext, off int64) error {
	// Byte offsets of the extent's end must fit an int64 as well.
	if e.n == 0 || e.off > maxFileOff || e.n > maxFileOff-e.off || e.off+e.n > 1<<(62-l.v.sb.blockLog) {
		return formatErr(off, "inode %d: extent of %d blocks at file block %d", l.ino, e.n, e.off)
	}
	if k := len(l.exts); k > 0 {
		p := l.exts[k-1]
		if e.off < p.off+p.n {
			return formatErr(off, "inode %d: extent at file block %d overlaps or precedes the one at %d", l.ino, e.off, p.off)
		}
	}
	sb := l.v.sb
	_, err := sb.fsbToByte(e.blk)
	if err == nil {
		_, err = sb.fsbToByte(e.blk + e.n - 1)
	}
	if err != nil {
		return formatErr(off, "inode %d: extent: %v", l.ino, err)
	}
	if e.blk>>sb.agBlkLog != (e.blk+e.n-1)>>sb.agBlkLog {
		return formatErr(off, "inode %d: extent at block %d crosses an allocation group", l.ino, e.blk)
	}
	if len(l.exts) >= maxExtents {
		return kindErr(ErrRange, off, "inode %d: more than %d extents", l.ino, maxExtents)
	}
	l.exts = append(l.exts, e)
	return nil
}

// forkExtents reads the extent map of an inode's data fork (attr false)
// or attribute fork (attr true), which must be in extents or btree form.
func (v *FS) forkExtents(b *budget, in *inode, attr bool) ([]bext, error) {
	fork, format, count, forkOff := in.dfork, in.format, in.nextents, in.dforkAt
	if attr {
		fork, format, count, forkOff = in.afork, in.aformat, in.anextents, in.aforkAt
	}
	l := &extentList{v: v, b: b, ino: in.ino}
	switch format {
	case fmtExtents:
		if count > uint64(len(fork)/16) {
			return nil, formatErr(forkOff, "inode %d: %d extents in a fork of %d bytes", in.ino, count, len(fork))
		}
		for i := 0; i < int(count); i++ {
			if err := l.add(decodeExtent(fork[i*16:]), forkOff+int64(i*16)); err != nil {
				return nil, err
			}
		}
	case fmtBtree:
		if err := l.root(fork, forkOff); err != nil {
			return nil, err
		}
	default:
		return nil, formatErr(forkOff, "inode %d: fork format %d has no extents", in.ino, format)
	}
	return l.exts, nil
}

// root walks a bmap B+tree from the root held in the inode fork.
func (l *extentList) root(fork []byte, off int64) error {
	if len(fork) < 4+16 {
		return formatErr(off, "inode %d: B+tree root in a fork of %d bytes", l.ino, len(fork))
	}
	level := int(binary.BigEndian.Uint16(fork))
	nrecs := int(binary.BigEndian.Uint16(fork[2:]))
	maxrecs := (len(fork) - 4) / 16
	if level < 1 || level > maxBtreeLevels || nrecs < 1 || nrecs > maxrecs {
		return formatErr(off, "inode %d: B+tree root of level %d with %d records (at most %d)", l.ino, level, nrecs, maxrecs)
	}
	ptrs := 4 + maxrecs*8
	for i := 0; i < nrecs; i++ {
		if err := l.node(binary.BigEndian.Uint64(fork[ptrs+i*8:]), level-1); err != nil {
			return err
		}
	}
	return nil
}

// node reads one bmap B+tree block, which must be at the given level.
func (l *extentList) node(fsb uint64, level int) error {
	sb := l.v.sb
	off, err := sb.fsbToByte(fsb)
	if err != nil {
		return formatErr(-1, "inode %d: B+tree block: %v", l.ino, err)
	}
	blk, err := l.v.meta(l.b, off, int(sb.blockSize))
	if err != nil {
		return err
	}
	hdr := 24
	want := uint32(bmapMagicV4)
	if sb.hasCRC() {
		hdr, want = 72, bmapMagicV5
	}
	if binary.BigEndian.Uint32(blk) != want {
		return formatErr(off, "inode %d: no bmap B+tree magic", l.ino)
	}
	if sb.hasCRC() {
		if err := l.v.checkCRC(blk, 64, off); err != nil {
			return err
		}
		if owner := binary.BigEndian.Uint64(blk[56:]); owner != l.ino {
			return formatErr(off, "inode %d: B+tree block owned by inode %d", l.ino, owner)
		}
	}
	got := int(binary.BigEndian.Uint16(blk[4:]))
	nrecs := int(binary.BigEndian.Uint16(blk[6:]))
	maxrecs := (len(blk) - hdr) / 16
	if got != level || nrecs < 1 || nrecs > maxrecs {
		return formatErr(off, "inode %d: B+tree block of level %d (want %d) with %d records", l.ino, got, level, nrecs)
	}
	if level == 0 {
		for i := 0; i < nrecs; i++ {
			if err := l.add(decodeExtent(blk[hdr+i*16:]), off+int64(hdr+i*16)); err != nil {
				return err
			}
		}
		return nil
	}
	ptrs := hdr + maxrecs*8
	for i := 0; i < nrecs; i++ {
		if err := l.node(binary.BigEndian.Uint64(blk[ptrs+i*8:]), level-1); err != nil {
			return err
		}
	}
	return nil
}

// find returns the index of the extent holding file block fb, or of the
// first extent after it (len(exts) when none), and whether fb is mapped.
func find(exts []bext, fb uint64) (int, bool) {
	i := sort.Search(len(exts), func(i int) bool { return exts[i].off+exts[i].n > fb })
	return i, i < len(exts) && exts[i].off <= fb
}

// readBlocks reads n bytes of a metadata fork starting at file block fb,
// which may span several extents. ok is false when any block is a hole.
func (v *FS) readBlocks(b *budget, exts []bext, fb uint64, n int) (buf []byte, at int64, ok bool, err error) {
	buf = make([]byte, 0, n)
	at = -1
	bs := uint64(v.sb.blockSize)
	for len(buf) < n {
		i, mapped := find(exts, fb)
		if !mapped {
			return nil, at, false, nil
		}
		e := exts[i]
		run := min((e.n-(fb-e.off))*bs, uint64(n-len(buf)))
		off, err := v.sb.fsbToByte(e.blk + fb - e.off)
		if err != nil {
			return nil, at, false, formatErr(-1, "%v", err)
		}
		if at < 0 {
			at = off
		}
		part, err := v.meta(b, off, int(run))
		if err != nil {
			return nil, at, false, err
		}
		buf = append(buf, part...)
		fb += run / bs
	}
	return buf, at, true, nil
}
