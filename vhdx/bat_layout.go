package vhdx

import "fmt"

// The BAT interleaves one sector bitmap entry after every chunkRatio
// payload entries ([MS-VHDX] 2.5). These helpers are the one statement of
// that layout for the reader, the writer and the in-place updater.

// payloadIndex is the BAT index of payload block blk.
func payloadIndex(blk, chunkRatio int64) int64 { return blk + blk/chunkRatio }

// bitmapIndex is the BAT index of the sector bitmap entry of chunk c.
func bitmapIndex(c, chunkRatio int64) int64 { return c*(chunkRatio+1) + chunkRatio }

// blockBits locates block blk's bits inside its chunk's 1 MiB sector
// bitmap: the first bit and the bit count (one per logical sector).
func blockBits(blk, chunkRatio, blockSize, sectorSize int64) (first, n int64) {
	n = blockSize / sectorSize
	return (blk % chunkRatio) * n, n
}

// setBits sets bits [first, first+n) of a LSB-first bitmap.
func setBits(bm []byte, first, n int64) {
	for s := first; s < first+n; s++ {
		bm[s>>3] |= 1 << (s & 7)
	}
}

// allBitsSet reports whether the n bits from first (a multiple of 8, as
// every block's bits are) are all set: the block is fully present.
func allBitsSet(bm []byte, first, n int64) bool {
	for _, b := range bm[first/8 : (first+n)/8] {
		if b != 0xff {
			return false
		}
	}
	return true
}

// wholeBlocks checks that [off, off+n) covers whole blocks of a disk
// (the last may end at the disk's end) and returns the block range.
func wholeBlocks(name string, off, n, blockSize, size int64) (first, end int64, err error) {
	if off < 0 || off%blockSize != 0 || n <= 0 || n > size-off || (n%blockSize != 0 && off+n != size) {
		return 0, 0, fmt.Errorf("%s: zero range %d+%d is not whole blocks", name, off, n)
	}
	return off / blockSize, (off + n + blockSize - 1) / blockSize, nil
}
