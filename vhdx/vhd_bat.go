package vhdx

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
)

const (
	vhdBATUnused = 0xffffffff // BAT entry of a block that is not allocated
	// vhdBATChunk is how many BAT bytes are read at a time.
	vhdBATChunk = 64 << 10
	// vhdFixedBlock is the block size a fixed disk reports; its payload is
	// one contiguous run, so any size works and 2 MiB matches dynamic disks.
	vhdFixedBlock = 2 << 20
)

// readVHDBAT reads n big-endian BAT entries at off. The caller has checked
// that they lie inside the file, which also bounds the allocation.
func readVHDBAT(r io.ReaderAt, off int64, n int64) ([]uint32, error) {
	bat := make([]uint32, n)
	buf := make([]byte, min(n*4, vhdBATChunk))
	for done := int64(0); done < n; {
		k := min(n-done, int64(len(buf)/4))
		chunk := buf[:k*4]
		if _, err := r.ReadAt(chunk, off+done*4); err != nil {
			return nil, &ioError{off: off + done*4, what: "VHD BAT", err: err}
		}
		for j := range k {
			bat[done+j] = binary.BigEndian.Uint32(chunk[j*4:])
		}
		done += k
	}
	return bat, nil
}

// encodeVHDBAT returns the BAT as stored: big-endian entries, padded with
// unused entries to a whole number of sectors.
func encodeVHDBAT(bat []uint32) []byte {
	n := (int64(len(bat))*4 + vhdSector - 1) / vhdSector * vhdSector
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xff
	}
	for i, e := range bat {
		binary.BigEndian.PutUint32(b[i*4:], e)
	}
	return b
}

// vhdBitmapSize is the on-disk size of a block's sector bitmap: one bit per
// sector, padded to whole sectors.
func vhdBitmapSize(blockSize int64) int64 {
	bytes := (blockSize/vhdSector + 7) / 8
	return (bytes + vhdSector - 1) / vhdSector * vhdSector
}

// vhdFixedMap is the blockMap of a fixed disk: the payload is the file
// from offset 0, every block present.
type vhdFixedMap struct {
	blockSize int64
	// unwritten has a bit set for each block that the file says was
	// never written (nil: every block is data); see writtenRanger.
	unwritten []uint64
}

func (m *vhdFixedMap) block(i int64) (BlockState, int64) {
	if w := i / 64; w < int64(len(m.unwritten)) && m.unwritten[w]&(1<<(i%64)) != 0 {
		return BlockZero, 0
	}
	return BlockPresent, i * m.blockSize
}

// writtenRanger is a file that knows which of its byte ranges were ever
// written: an Azure page blob, where Azure keeps VM disks as fixed VHDs.
// The blocks of a fixed disk that lie wholly in its holes are zero blocks:
// they are never read, and show as holes (SEEK_HOLE, sparse copies).
type writtenRanger interface {
	WrittenRanges() (ranges [][2]int64, ok bool)
}

// markUnwritten sets m.unwritten from the sorted written ranges of the
// file, for a payload of size bytes at its start.
func (m *vhdFixedMap) markUnwritten(ranges [][2]int64, size int64) {
	blocks := (size + m.blockSize - 1) / m.blockSize
	m.unwritten = make([]uint64, (blocks+63)/64)
	for i := range m.unwritten {
		m.unwritten[i] = ^uint64(0)
	}
	next := int64(0) // blocks below are marked already: each block once
	for _, r := range ranges {
		if r[1] <= r[0] || r[0] >= size || r[0] < 0 {
			continue
		}
		for b := max(r[0]/m.blockSize, next); b <= (min(r[1], size)-1)/m.blockSize; b++ {
			m.unwritten[b/64] &^= 1 << (b % 64)
			next = b + 1
		}
	}
}

func (m *vhdFixedMap) blockError(i int64) error { return nil }

func (m *vhdFixedMap) sectorBitmap(i int64, dst []byte) error {
	for j := range dst {
		dst[j] = 0xff
	}
	return nil
}

// vhdDynamicMap is the blockMap of a dynamic or differencing disk.
type vhdDynamicMap struct {
	r          io.ReaderAt
	bat        []uint32
	batOff     int64 // file offset of the BAT, for error messages
	blockSize  int64
	bitmapSize int64 // on-disk bitmap bytes in front of each block
	// limit is where allocated blocks must end: the end footer, or the
	// end of the file when that footer is missing.
	limit int64
}

// entryErr checks BAT entry i and returns a *FormatError when its block
// (bitmap and data) is not wholly inside the file, or nil.
func (m *vhdDynamicMap) entryErr(i int64) error {
	e := m.bat[i]
	start := int64(e) * vhdSector
	end := start + m.bitmapSize + m.blockSize
	if start < vhdSector || end > m.limit {
		return formatErr(m.batOff+4*i, "BAT entry %d: block at sector 0x%x ([0x%x, 0x%x)) lies outside [0x200, 0x%x)",
			i, e, start, end, m.limit)
	}
	return nil
}

// badEntries counts allocated BAT entries that point outside the file,
// returning the count and the first such block.
func (m *vhdDynamicMap) badEntries() (n int, first int64) {
	first = -1
	for i, e := range m.bat {
		if e != vhdBATUnused && m.entryErr(int64(i)) != nil {
			if n == 0 {
				first = int64(i)
			}
			n++
		}
	}
	return n, first
}

// block reports allocated blocks as partial: their sector bitmap says which
// sectors this file holds, and a dynamic disk's clear bits read as zeros as
// the specification says. Entries pointing outside the file are invalid.
func (m *vhdDynamicMap) block(i int64) (BlockState, int64) {
	if i < 0 || i >= int64(len(m.bat)) || m.bat[i] == vhdBATUnused {
		return BlockAbsent, 0
	}
	if m.entryErr(i) != nil {
		return BlockInvalid, 0
	}
	return BlockPartial, int64(m.bat[i])*vhdSector + m.bitmapSize
}

// blockError returns the fault of block i's BAT entry, or nil.
func (m *vhdDynamicMap) blockError(i int64) error {
	if i < 0 || i >= int64(len(m.bat)) || m.bat[i] == vhdBATUnused {
		return nil
	}
	return m.entryErr(i)
}

// sectorBitmap reads block i's bitmap, stored MSB first (bit 7 of byte 0 is
// the block's first sector), and returns it LSB first.
func (m *vhdDynamicMap) sectorBitmap(i int64, dst []byte) error {
	if i < 0 || i >= int64(len(m.bat)) || m.bat[i] == vhdBATUnused {
		clear(dst)
		return nil
	}
	if err := m.entryErr(i); err != nil {
		return err
	}
	if int64(len(dst)) > m.bitmapSize {
		return fmt.Errorf("vhd: bitmap buffer of %d bytes for %d-byte bitmap", len(dst), m.bitmapSize)
	}
	off := int64(m.bat[i]) * vhdSector
	if _, err := m.r.ReadAt(dst, off); err != nil {
		return &ioError{off: off, what: fmt.Sprintf("VHD sector bitmap of block %d", i), err: err}
	}
	for j, c := range dst {
		dst[j] = bits.Reverse8(c)
	}
	return nil
}
