package vhdx

import (
	"bytes"
	"fmt"
	"sort"
)

// Problem is one fault found by Check.
type Problem struct {
	File string `json:"file"`
	Off  int64  `json:"offset"` // byte offset in the file, -1 when none applies
	What string `json:"problem"`
}

func (p Problem) String() string {
	if p.Off < 0 {
		return fmt.Sprintf("%s: %s", p.File, p.What)
	}
	return fmt.Sprintf("%s: at byte 0x%x: %s", p.File, p.Off, p.What)
}

// span is a byte range of the file claimed by one structure.
type span struct {
	off, end int64
	what     string
}

// Check verifies what opening tolerated: damaged redundant copies, damaged
// BAT entries, blocks that overlap each other or the metadata structures,
// partial blocks whose sector bitmap cannot be read, and a log that still
// had to be replayed. It reads every sector bitmap of the file once.
func (d *Disk) Check() []Problem {
	var out []Problem
	add := func(off int64, format string, args ...any) {
		out = append(out, Problem{File: d.Name, Off: off, What: fmt.Sprintf(format, args...)})
	}
	for _, w := range d.Warnings {
		add(-1, "%s", w)
	}
	if d.LogReplayed {
		add(-1, "the file was not closed cleanly: %d log entries were replayed in memory (the file itself is unchanged)", d.LogEntries)
	}
	out = append(out, d.checkLayout()...)
	spans := d.structureSpans()
	for i := int64(0); i < d.Blocks(); i++ {
		st, off := d.BlockInfo(i)
		switch st {
		case BlockPresent, BlockPartial:
			n := min(d.BlockSize, d.VirtualSize-i*d.BlockSize)
			spans = append(spans, span{off, off + n, fmt.Sprintf("block %d", i)})
		}
		if st == BlockPartial {
			if _, err := d.SectorBitmap(i); err != nil {
				add(-1, "block %d: %v", i, err)
			}
		}
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].off < spans[b].off })
	end := span{}
	for _, s := range spans {
		if s.off < end.end {
			add(s.off, "%s overlaps %s", s.what, end.what)
		}
		if s.end > end.end {
			end = s
		}
	}
	return out
}

// checkLayout reports what opening accepts but a strict reader (qemu,
// Hyper-V) may not: a damaged or differing second region table (opening
// reads table 2 only when table 1 fails), BAT entries with reserved bits
// set, and a missing Page 83 Data item (the virtual disk id the guest
// sees as its SCSI identity; data reads do not need it, so ckptfs reads
// such a file, but [MS-VHDX] requires the item and qemu refuses it).
func (d *Disk) checkLayout() []Problem {
	l := d.vhdx
	if l == nil {
		return nil
	}
	var out []Problem
	add := func(off int64, format string, args ...any) {
		out = append(out, Problem{File: d.Name, Off: off, What: fmt.Sprintf(format, args...)})
	}
	// Opening warns about table 1 when it falls back to table 2; table 2
	// itself is only read here.
	var tables [2][]byte
	for i, off := range []int64{regionTable1Off, regionTable2Off} {
		buf := make([]byte, regionTableSize)
		err := readFull(d.r, buf, off, d.FileSize, "region table")
		if err == nil {
			var rs []regionEntry
			if rs, err = decodeRegionTable(buf, off); err == nil {
				_, _, err = pickRegions(rs, off, d.FileSize)
			}
		}
		switch {
		case err == nil:
			tables[i] = buf
		case i == 1:
			add(off, "region table 2: %v", err)
		}
	}
	if tables[0] != nil && tables[1] != nil && !bytes.Equal(tables[0], tables[1]) {
		add(regionTable2Off, "region table 2 differs from region table 1 (both copies must be identical)")
	}
	if b, ok := d.blocks.(*vhdxBlocks); ok {
		for _, r := range b.reserved {
			add(-1, "%s", r)
		}
		if b.nReserved > int64(len(b.reserved)) {
			add(-1, "... %d BAT entries with reserved bits set in all", b.nReserved)
		}
	}
	if !l.params.HasDiskID {
		add(int64(l.metaRegion.Offset), "metadata item Page 83 Data (virtual disk id, %s) is missing: [MS-VHDX] requires it and qemu refuses the file; ckptfs reads it with a zero disk id", guidVirtualDiskID)
	}
	return out
}

// structureSpans lists the file ranges held by VHDX metadata structures and
// sector bitmap blocks, so blocks can be checked against them.
func (d *Disk) structureSpans() []span {
	l := d.vhdx
	if l == nil {
		return nil
	}
	s := []span{
		{0, regionTable2Off + regionTableSize, "the headers and region tables"},
		{int64(l.batRegion.Offset), int64(l.batRegion.Offset) + int64(l.batRegion.Length), "the BAT"},
		{int64(l.metaRegion.Offset), int64(l.metaRegion.Offset) + int64(l.metaRegion.Length), "the metadata region"},
	}
	if l.header.LogLength > 0 {
		s = append(s, span{int64(l.header.LogOffset), int64(l.header.LogOffset) + int64(l.header.LogLength), "the log"})
	}
	if b, ok := d.blocks.(*vhdxBlocks); ok {
		for c, e := range b.bitmaps {
			if e&batStateMask == sbPresent {
				off := int64(e >> 20 << 20)
				s = append(s, span{off, off + sectorBitmapBlock, fmt.Sprintf("sector bitmap %d", c)})
			}
		}
	}
	return s
}

// Check verifies every layer and the links between them.
func (c *Chain) Check() []Problem {
	var out []Problem
	for i, d := range c.Layers {
		out = append(out, d.Check()...)
		if i+1 < len(c.Layers) {
			if err := CheckLinkage(d, c.Layers[i+1]); err != nil {
				out = append(out, Problem{File: d.Name, Off: -1, What: err.Error()})
			}
			if d.VirtualSize != c.Layers[i+1].VirtualSize {
				out = append(out, Problem{File: d.Name, Off: -1, What: fmt.Sprintf(
					"virtual size %d differs from its parent's %d", d.VirtualSize, c.Layers[i+1].VirtualSize)})
			}
		}
	}
	return out
}
