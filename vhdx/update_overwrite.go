package vhdx

import "fmt"

// Overwrite writes virtual disk bytes at off whatever the file holds
// there. Unlike Fill it changes what the file itself reads at once where
// the file already holds the sectors (they are written in place), so it
// is only for a file whose own content is being discarded while another
// file still answers for those sectors: a merge folding a child into its
// parent, where the child holds every sector written. Sectors the file
// did not hold, and blocks it had no space for (NOT_PRESENT, ZERO,
// UNMAPPED, UNDEFINED), follow the Fill rules: the bytes go to new space
// and the metadata pointing at them changes at the next Commit. A block
// that was ZERO (or UNMAPPED/UNDEFINED) becomes fully present, its other
// sectors reading zeros as before. off and len(p) must be whole sectors.
func (u *Update) Overwrite(p []byte, off int64) error {
	return u.eachBlock("overwrite", p, off, u.overwriteBlock)
}

func (u *Update) overwriteBlock(p []byte, blk, within int64) error {
	idx := u.batIndex(blk)
	e := u.bat[idx]
	var base int64
	switch e & batStateMask {
	case payloadNotPresent:
		var err error
		if base, err = u.allocate(blk); err != nil {
			return err
		}
	case payloadPartially, payloadFullyPresent:
		base = int64(e >> 20 << 20)
	default: // ZERO and the states read as zeros: the new block must hide the parent too
		base = u.fileEnd
		u.fileEnd += int64(u.p.BlockSize)
		if err := u.f.Truncate(u.fileEnd); err != nil {
			return err
		}
		u.setEntry(idx, uint64(base)|payloadFullyPresent)
	}
	if _, err := u.f.WriteAt(p, base+within); err != nil {
		return fmt.Errorf("%s: %w", u.name, err)
	}
	if u.bat[idx]&batStateMask == payloadPartially {
		return u.markSectors(blk, within, int64(len(p)))
	}
	return nil
}

// ZeroBlocks turns the whole blocks covering [off, off+n) into ZERO
// blocks, whatever they held (n may end at the disk's end). It takes
// effect at Commit; the space the blocks had is left unused. Like
// Overwrite, it changes what the file reads, so it is for a file whose
// own content is being discarded.
func (u *Update) ZeroBlocks(off, n int64) error {
	first, end, err := wholeBlocks(u.name, off, n, int64(u.p.BlockSize), int64(u.p.VirtualSize))
	if err != nil {
		return err
	}
	for blk := first; blk < end; blk++ {
		u.setEntry(u.batIndex(blk), payloadZero)
	}
	return nil
}
