package vhdx

import "fmt"

// Fill writes virtual disk bytes into sectors the file does not hold yet:
// in a differencing disk, sectors it defers to its parent; in any disk,
// blocks with no space (NOT_PRESENT). The bytes land where no metadata
// points yet; they become part of the disk at the next Commit. A range
// that touches a sector the file holds (or a ZERO block) is refused with
// ErrHeld, since writing it would change what the file reads before the
// commit. off and len(p) must be whole logical sectors.
func (u *Update) Fill(p []byte, off int64) error {
	return u.eachBlock("fill", p, off, u.fillBlock)
}

// eachBlock checks that p at off is whole sectors inside the disk and
// hands each block's part to do.
func (u *Update) eachBlock(what string, p []byte, off int64, do func(p []byte, blk, within int64) error) error {
	sec := int64(u.p.LogicalSectorSize)
	size := int64(u.p.VirtualSize)
	if off < 0 || off%sec != 0 || int64(len(p))%sec != 0 || off > size || int64(len(p)) > size-off {
		return fmt.Errorf("%s: %s of %d bytes at %d is not whole sectors inside the disk", u.name, what, len(p), off)
	}
	bs := int64(u.p.BlockSize)
	for done := int64(0); done < int64(len(p)); {
		pos := off + done
		blk := pos / bs
		within := pos - blk*bs
		n := min(int64(len(p))-done, bs-within)
		if err := do(p[done:done+n], blk, within); err != nil {
			return err
		}
		done += n
	}
	return nil
}

func (u *Update) batIndex(blk int64) int64 { return payloadIndex(blk, u.cr) }

func (u *Update) fillBlock(p []byte, blk, within int64) error {
	idx := u.batIndex(blk)
	e := u.bat[idx]
	var base int64
	switch e & batStateMask {
	case payloadNotPresent:
		var err error
		if base, err = u.allocate(blk); err != nil {
			return err
		}
	case payloadPartially:
		base = int64(e >> 20 << 20)
		held, err := u.anyHeld(blk, within, int64(len(p)))
		if err != nil {
			return err
		}
		if held {
			return fmt.Errorf("%s: %w: block %d, bytes %d+%d", u.name, ErrHeld, blk, within, len(p))
		}
	default:
		return fmt.Errorf("%s: %w: block %d is in state %d", u.name, ErrHeld, blk, e&batStateMask)
	}
	if _, err := u.f.WriteAt(p, base+within); err != nil {
		return fmt.Errorf("%s: %w", u.name, err)
	}
	if u.bat[idx]&batStateMask == payloadPartially {
		return u.markSectors(blk, within, int64(len(p)))
	}
	return nil
}

// allocate gives block blk fresh space at the end of the file (a hole,
// reading zeros). In a differencing disk the block becomes partial: its
// other sectors still belong to the parent.
func (u *Update) allocate(blk int64) (int64, error) {
	base := u.fileEnd
	u.fileEnd += int64(u.p.BlockSize)
	if err := u.f.Truncate(u.fileEnd); err != nil {
		return 0, err
	}
	state := uint64(payloadFullyPresent)
	if u.p.HasParent {
		state = payloadPartially
		if _, err := u.chunkBitmap(blk / u.cr); err != nil {
			return 0, err
		}
	}
	u.setEntry(u.batIndex(blk), uint64(base)|state)
	return base, nil
}

func (u *Update) setEntry(idx int64, e uint64) {
	if u.bat[idx] == e {
		return
	}
	u.bat[idx] = e
	u.batDirty[idx*8/logPage] = true
}

// chunkBitmap returns chunk c's sector bitmap block, reading it, or
// allocating it at the end of the file when the chunk has none.
func (u *Update) chunkBitmap(c int64) ([]byte, error) {
	if bm, ok := u.bitmaps[c]; ok {
		return bm, nil
	}
	idx := c*(u.cr+1) + u.cr
	bm := make([]byte, sectorBitmapBlock)
	if e := u.bat[idx]; e&batStateMask == sbPresent {
		if err := readFull(u.f, bm, int64(e>>20<<20), u.fileEnd, "sector bitmap"); err != nil {
			return nil, err
		}
	} else {
		base := u.fileEnd
		u.fileEnd += sectorBitmapBlock
		if err := u.f.Truncate(u.fileEnd); err != nil {
			return nil, err
		}
		u.setEntry(idx, uint64(base)|sbPresent)
		u.bmNew[c] = true
	}
	u.bitmaps[c] = bm
	return bm, nil
}

// sectorRange returns the chunk, its bitmap and the first bit of the
// sectors [within, within+n) of block blk.
func (u *Update) sectorRange(blk, within int64) (int64, []byte, int64, error) {
	c := blk / u.cr
	bm, err := u.chunkBitmap(c)
	if err != nil {
		return 0, nil, 0, err
	}
	sec := int64(u.p.LogicalSectorSize)
	perBlock := int64(u.p.BlockSize) / sec
	return c, bm, (blk%u.cr)*perBlock + within/sec, nil
}

func (u *Update) anyHeld(blk, within, n int64) (bool, error) {
	_, bm, first, err := u.sectorRange(blk, within)
	if err != nil {
		return false, err
	}
	for s := first; s < first+n/int64(u.p.LogicalSectorSize); s++ {
		if bm[s>>3]&(1<<(s&7)) != 0 {
			return true, nil
		}
	}
	return false, nil
}

// markSectors sets the bits of filled sectors; a block whose every
// sector is then held becomes fully present, as Hyper-V records it.
func (u *Update) markSectors(blk, within, n int64) error {
	c, bm, first, err := u.sectorRange(blk, within)
	if err != nil {
		return err
	}
	last := first + n/int64(u.p.LogicalSectorSize)
	setBits(bm, first, last-first)
	if !u.bmNew[c] {
		if u.bmDirty[c] == nil {
			u.bmDirty[c] = map[int64]bool{}
		}
		for pg := (first >> 3) / logPage; pg <= ((last-1)>>3)/logPage; pg++ {
			u.bmDirty[c][pg] = true
		}
	}
	start, perBlock := blockBits(blk, u.cr, int64(u.p.BlockSize), int64(u.p.LogicalSectorSize))
	if allBitsSet(bm, start, perBlock) {
		idx := u.batIndex(blk)
		u.setEntry(idx, u.bat[idx]&^batStateMask|payloadFullyPresent)
	}
	return nil
}

// MarkZero turns NOT_PRESENT blocks covering [off, off+n) into ZERO
// blocks (they then read zeros and hide any parent). off and n must be
// whole blocks (n may end at the disk's end). It changes what the file
// reads, so a caller uses it only where the parent read zeros too.
func (u *Update) MarkZero(off, n int64) error {
	first, end, err := wholeBlocks(u.name, off, n, int64(u.p.BlockSize), int64(u.p.VirtualSize))
	if err != nil {
		return err
	}
	for blk := first; blk < end; blk++ {
		idx := u.batIndex(blk)
		if st := u.bat[idx] & batStateMask; st != payloadNotPresent && st != payloadZero {
			return fmt.Errorf("%s: %w: block %d is in state %d", u.name, ErrHeld, blk, st)
		}
		u.setEntry(idx, payloadZero)
	}
	return nil
}

// Pending returns the 4 KiB pages of metadata the next Commit will log.
func (u *Update) Pending() int {
	n := len(u.batDirty)
	for _, pgs := range u.bmDirty {
		n += len(pgs)
	}
	return n + len(u.metaPages())
}

// MaxPending is how many pages one Commit can log: the log must hold the
// whole entry.
func (u *Update) MaxPending() int {
	total := u.logLen / logPage
	// n data sectors plus ⌈(64 + 32 n) / 4096⌉ descriptor sectors.
	n := int(total) - 1
	for n > 0 && int64(n)+(logEntryHeaderSize+logDescriptorSize*int64(n)+logPage-1)/logPage > total {
		n--
	}
	return n
}
