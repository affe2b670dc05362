package vhdx

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Payload and sector bitmap BAT entry states ([MS-VHDX] 2.5.1).
const (
	payloadNotPresent   = 0
	payloadUndefined    = 1
	payloadZero         = 2
	payloadUnmapped     = 3
	payloadUnmapped095  = 5 // the 0.95 draft's UNMAPPED; images from that era exist
	payloadFullyPresent = 6
	payloadPartially    = 7
	sbPresent           = 6

	batStateMask   = 7
	batInvalidMark = 4 // a reserved state, used in memory to mark a rejected entry
)

// vhdxBlocks is the BAT of one VHDX file, read once into memory.
type vhdxBlocks struct {
	r          io.ReaderAt
	fileSize   int64
	blockSize  int64
	virtSize   int64
	sectorSize int64
	chunkRatio int64
	diff       bool
	payload    *sparseTable // raw payload entries by block number
	bitmaps    []uint64     // raw sector bitmap entries by chunk
	bad        map[int64]string
	// reserved describes the first entries whose reserved bits (3-19)
	// are set; nReserved counts them all. The entries are used as they
	// are (the spec has readers ignore those bits) and check reports them.
	reserved  []string
	nReserved int64
	// fetch, for a file read over a network, is told which bitmap bytes
	// to fetch before one is read (see sectorBitmap).
	fetch fetcher
}

// fetcher is a file read over a network that can be told what a read
// about to come should fetch with it, kept as read data is (not as
// read-ahead, which is dropped once read).
type fetcher interface {
	Fetch(off, n int64)
}

// bitmapAhead is how many bytes of a sector bitmap block a remote
// layer's first read of one fetches: a block's bitmap is 8 KiB (32 MiB
// blocks of 512-byte sectors); a read of the file that misses would
// fetch the aligned megabyte around it, the bitmap of 4 GiB of the disk,
// most of it past the end of a small disk. 256 KiB is the bitmap of 1 GiB.
const bitmapAhead = 256 * kib

// batReservedBits are bits 3-19 of a BAT entry, which writers must zero.
const batReservedBits = 1<<20 - 1 - batStateMask

// maxReservedNoted bounds the BAT entries with reserved bits described
// one by one; the rest are only counted.
const maxReservedNoted = 10

// batGeometry returns the chunk ratio, the number of payload blocks and the
// number of BAT entries the spec requires ([MS-VHDX] 2.5).
func batGeometry(p diskParams) (chunkRatio, blocks, entries int64) {
	chunkRatio = (int64(sectorsPerBitmapBk) * int64(p.LogicalSectorSize)) / int64(p.BlockSize)
	blocks = (int64(p.VirtualSize) + int64(p.BlockSize) - 1) / int64(p.BlockSize)
	chunks := (blocks + chunkRatio - 1) / chunkRatio
	if p.HasParent {
		entries = chunks * (chunkRatio + 1)
	} else {
		entries = blocks + (blocks-1)/chunkRatio
	}
	return chunkRatio, blocks, entries
}

func readBAT(r io.ReaderAt, size int64, region regionEntry, p diskParams) (*vhdxBlocks, error) {
	cr, blocks, entries := batGeometry(p)
	if entries*8 > int64(region.Length) {
		return nil, formatErr(int64(region.Offset), "BAT region holds %d entries, the disk needs %d", region.Length/8, entries)
	}
	b := &vhdxBlocks{
		r: r, fileSize: size, blockSize: int64(p.BlockSize), virtSize: int64(p.VirtualSize),
		sectorSize: int64(p.LogicalSectorSize), chunkRatio: cr, diff: p.HasParent,
		payload: newSparseTable(blocks), bitmaps: make([]uint64, (blocks+cr-1)/cr),
		bad: map[int64]string{},
	}
	const chunkEntries = 128 * 1024 // read the table 1 MiB at a time
	buf := make([]byte, 8*min(entries, chunkEntries))
	for first := int64(0); first < entries; first += chunkEntries {
		n := min(entries-first, chunkEntries)
		off := int64(region.Offset) + first*8
		if err := readFull(r, buf[:8*n], off, size, "BAT"); err != nil {
			return nil, err
		}
		for j := int64(0); j < n; j++ {
			b.store(first+j, binary.LittleEndian.Uint64(buf[8*j:]), off+8*j)
		}
	}
	return b, nil
}

// store files BAT entry idx, validating it. A bad entry does not fail the
// open: the block reads as an error and check reports it, so the rest of
// a damaged disk stays readable.
func (b *vhdxBlocks) store(idx int64, e uint64, at int64) {
	if e&batReservedBits != 0 {
		if b.nReserved < maxReservedNoted {
			b.reserved = append(b.reserved, fmt.Sprintf("BAT entry %d at byte 0x%x (0x%016x) has reserved bits set", idx, at, e))
		}
		b.nReserved++
	}
	if (idx+1)%(b.chunkRatio+1) == 0 {
		c := idx / (b.chunkRatio + 1)
		if c < int64(len(b.bitmaps)) {
			b.bitmaps[c] = e
		}
		return
	}
	blk := idx - idx/(b.chunkRatio+1)
	if blk >= b.payload.n {
		return
	}
	if why := b.validate(blk, e); why != "" {
		b.bad[blk] = fmt.Sprintf("BAT entry %d at byte 0x%x (0x%016x): %s", idx, at, e, why)
		e = batInvalidMark
	}
	b.payload.set(blk, e)
}

func (b *vhdxBlocks) validate(blk int64, e uint64) string {
	st := e & batStateMask
	switch st {
	case payloadNotPresent, payloadUndefined, payloadZero, payloadUnmapped, payloadUnmapped095:
		return ""
	case payloadPartially:
		if !b.diff {
			return "PARTIALLY_PRESENT in a disk without parent"
		}
	case payloadFullyPresent:
	default:
		return fmt.Sprintf("reserved state %d", st)
	}
	off := int64(e >> 20 << 20)
	need := min(b.blockSize, b.virtSize-blk*b.blockSize)
	if off < mib || off > b.fileSize || need > b.fileSize-off {
		return fmt.Sprintf("block data at 0x%x lies outside the file (%d bytes)", off, b.fileSize)
	}
	return ""
}

func (b *vhdxBlocks) block(i int64) (BlockState, int64) {
	e := b.payload.get(i)
	switch e & batStateMask {
	case payloadNotPresent:
		return BlockAbsent, 0
	case payloadFullyPresent:
		return BlockPresent, int64(e >> 20 << 20)
	case payloadPartially:
		return BlockPartial, int64(e >> 20 << 20)
	case batInvalidMark:
		return BlockInvalid, 0
	}
	// ZERO reads zeros. UNDEFINED and UNMAPPED allow "any data" by the
	// spec; zeros is the choice that never leaks a parent's or stale bytes
	// and matches qemu. In a differencing disk they hide the parent too.
	return BlockZero, 0
}

func (b *vhdxBlocks) blockError(i int64) error {
	return fmt.Errorf("%w: %s", ErrFormat, b.bad[i])
}

func (b *vhdxBlocks) sectorBitmap(i int64, dst []byte) error {
	c := i / b.chunkRatio
	e := b.bitmaps[c]
	bmIdx := bitmapIndex(c, b.chunkRatio)
	if e&batStateMask != sbPresent {
		return formatErr(0, "block %d is partially present but sector bitmap entry %d is not present", i, bmIdx)
	}
	base := int64(e >> 20 << 20)
	if base < mib || base > b.fileSize || sectorBitmapBlock > b.fileSize-base {
		return formatErr(base, "sector bitmap block of entry %d lies outside the file", bmIdx)
	}
	first, _ := blockBits(i, b.chunkRatio, b.blockSize, b.sectorSize)
	off := base + first/8
	if b.fetch != nil {
		// Up to the bitmap of the disk's last block in this chunk.
		lastBlk := min((c+1)*b.chunkRatio, b.payload.n) - 1
		lf, ln := blockBits(lastBlk, b.chunkRatio, b.blockSize, b.sectorSize)
		end := min(base+(lf+ln+7)/8, off+max(bitmapAhead, int64(len(dst))), b.fileSize)
		b.fetch.Fetch(off, end-off)
	}
	return readFull(b.r, dst, off, b.fileSize, "sector bitmap")
}
