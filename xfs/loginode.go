package xfs

import "encoding/binary"

// inode replays an inode item: the logged core (in the host's byte
// order) is written in disk order over the inode, then the logged forks.
func (rp *replayer) inode(it logItem, cancels map[bufKey]int) error {
	f := it.regions[0]
	var fields uint32
	var dsize, asize int
	var blkno int64
	var bbs int32
	var boff int
	var rdev uint32
	switch len(f) {
	case 56: // 64-bit layout, padded
		fields, asize, dsize = le.Uint32(f[4:]), int(le.Uint16(f[8:])), int(le.Uint16(f[10:]))
		rdev, blkno, bbs, boff = le.Uint32(f[24:]), int64(le.Uint64(f[40:])), int32(le.Uint32(f[48:])), int(int32(le.Uint32(f[52:])))
	case 52: // 32-bit layout
		fields, asize, dsize = le.Uint32(f[4:]), int(le.Uint16(f[8:])), int(le.Uint16(f[10:]))
		rdev, blkno, bbs, boff = le.Uint32(f[20:]), int64(le.Uint64(f[36:])), int32(le.Uint32(f[44:])), int(int32(le.Uint32(f[48:])))
	default:
		return formatErr(-1, "inode log format of %d bytes", len(f))
	}
	if cancels[bufKey{blkno: blkno, bbs: bbs}] > 0 {
		return nil // the inode chunk was freed later
	}
	if len(it.regions) < 2 {
		return formatErr(-1, "inode log item without its core")
	}
	isize := int(rp.v.sb.inodeSize)
	if boff < 0 || bbs <= 0 || boff+isize > int(bbs)*bbSize {
		return formatErr(blkno*bbSize, "inode log item at offset %d of a %d-block buffer", boff, bbs)
	}
	off := blkno*bbSize + int64(boff)
	dip, err := rp.read(off, isize)
	if err != nil {
		return err
	}
	core := it.regions[1]
	if len(core) < dinodeV2CoreLen-4 || le.Uint16(core) != 0x494e {
		return formatErr(off, "logged inode core without its magic")
	}
	if err := logDinodeToDisk(core, dip); err != nil {
		return formatErr(off, "logged inode: %v", err)
	}
	coreLen := dinodeV2CoreLen
	if dip[4] == 3 {
		coreLen = dinodeV3CoreLen
	}
	forkoff := int(dip[82]) * 8
	dfork := dip[coreLen:]
	var afork []byte
	if forkoff > 0 {
		if forkoff > len(dfork) {
			return formatErr(off, "logged inode with attribute fork offset %d", forkoff)
		}
		dfork, afork = dfork[:forkoff], dfork[forkoff:]
	}
	r := 2
	next := func() []byte {
		if r < len(it.regions) {
			r++
			return it.regions[r-1]
		}
		return nil
	}
	switch {
	case fields&(ilogDData|ilogDExt) != 0:
		if err := copyFork(dfork, next(), dsize); err != nil {
			return formatErr(off, "logged data fork: %v", err)
		}
	case fields&ilogDBroot != 0:
		if err := bmbtToBmdr(dfork, next(), rp.v.sb.hasCRC()); err != nil {
			return formatErr(off, "logged data fork root: %v", err)
		}
	case fields&0x10 != 0 && len(dfork) >= 4: // XFS_ILOG_DEV
		binary.BigEndian.PutUint32(dfork, rdev)
	}
	if fields&(ilogAData|ilogAExt|ilogABroot) != 0 {
		if afork == nil {
			return formatErr(off, "logged attribute fork in an inode without one")
		}
		if fields&ilogABroot != 0 {
			err = bmbtToBmdr(afork, next(), rp.v.sb.hasCRC())
		} else {
			err = copyFork(afork, next(), asize)
		}
		if err != nil {
			return formatErr(off, "logged attribute fork: %v", err)
		}
	}
	return rp.write(off, dip)
}

func copyFork(dst, src []byte, n int) error {
	if src == nil || n > len(src) || n > len(dst) {
		return formatErr(-1, "fork of %d bytes (region %d, room %d)", n, len(src), len(dst))
	}
	copy(dst, src[:n])
	return nil
}

// bmbtToBmdr turns a logged in-memory B+tree root (a full block header,
// keys and pointers spaced for its size) into the inode's root (level,
// count, keys and pointers spaced for the fork's size).
func bmbtToBmdr(dst, src []byte, v5 bool) error {
	hl := 24
	if v5 {
		hl = 72
	}
	if len(src) < hl || len(dst) < 4 {
		return formatErr(-1, "B+tree root of %d bytes", len(src))
	}
	be := binary.BigEndian
	level, n := be.Uint16(src[4:]), int(be.Uint16(src[6:]))
	smax, dmax := (len(src)-hl)/16, (len(dst)-4)/16
	if n > smax || n > dmax {
		return formatErr(-1, "B+tree root of %d records", n)
	}
	clear(dst)
	be.PutUint16(dst, level)
	be.PutUint16(dst[2:], uint16(n))
	copy(dst[4:], src[hl:hl+n*8])
	copy(dst[4+dmax*8:], src[hl+smax*8:hl+smax*8+n*8])
	return nil
}

// logDinodeToDisk writes a logged inode core (host byte order) over the
// disk inode dip (big-endian), keeping the disk's unlinked-list pointer
// and CRC (recomputed by the kernel on write-back; the reader does not
// check CRCs of replayed metadata).
func logDinodeToDisk(l, dip []byte) error {
	be := binary.BigEndian
	version := l[4]
	need := 96
	if version == 3 {
		need = dinodeV3CoreLen
	}
	if len(l) < need || len(dip) < need {
		return formatErr(-1, "core of %d bytes for version %d", len(l), version)
	}
	s16 := func(o int) { be.PutUint16(dip[o:], le.Uint16(l[o:])) }
	s32 := func(o int) { be.PutUint32(dip[o:], le.Uint32(l[o:])) }
	s64 := func(o int) { be.PutUint64(dip[o:], le.Uint64(l[o:])) }
	big := version == 3 && le.Uint64(l[120:])&diflag2Bigtime != 0
	ts := func(o int) {
		if big {
			s64(o)
		} else {
			s32(o)
			s32(o + 4)
		}
	}
	s16(0)
	s16(2)
	dip[4], dip[5] = l[4], l[5]
	s16(6)
	s32(8)
	s32(12)
	s32(16)
	s16(20)
	s16(22)
	if version == 3 {
		s64(24)
	} else {
		copy(dip[24:30], l[24:30])
		s16(30)
	}
	ts(32)
	ts(40)
	ts(48)
	s64(56)
	s64(64)
	s32(72)
	s32(76)
	s16(80)
	dip[82], dip[83] = l[82], l[83]
	s32(84)
	s16(88)
	s16(90)
	s32(92)
	if version != 3 {
		return nil
	}
	s64(104)
	s64(112)
	s64(120)
	s32(128)
	copy(dip[132:144], l[132:144])
	ts(144)
	s64(152)
	copy(dip[160:176], l[160:176])
	return nil
}
