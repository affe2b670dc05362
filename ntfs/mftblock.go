package ntfs

import "fmt"

// MFT records are read in blocks: files created together sit in adjacent
// records, and a listing or an `ls -l` through FUSE reads them one after
// another, so one read of a block serves its neighbours from memory
// instead of costing a read (and, below, a VHDX lookup and a syscall) each.
const (
	mftBlockBytes  = 16 << 10
	mftBlockCached = 128 // blocks per volume: 2 MiB
)

// recordBytes returns a private copy of the raw bytes (fixups not yet
// applied) of MFT record num, which must be below v.mftRecords.
func (v *Volume) recordBytes(num uint64) ([]byte, error) {
	size := int64(v.geo.RecordSize)
	b := make([]byte, size)
	if v.mftBlocks != nil {
		per := uint64(max(mftBlockBytes/size, 1))
		blk := num / per
		data, ok := v.mftBlocks.get(blk)
		if !ok {
			data = v.readMFTBlock(int64(blk*per) * size)
		}
		if data != nil {
			v.mftBlocks.put(blk, data)
			if off := int64(num%per) * size; off+size <= int64(len(data)) {
				copy(b, data[off:])
				return b, nil
			}
		}
	}
	// Uncached, or the block could not be read whole: the record alone
	// decides, so its error (or success) is its own.
	if _, err := v.mft.ReadAt(b, int64(num)*size); err != nil {
		return nil, fmt.Errorf("ntfs: reading MFT record %d: %w", num, err)
	}
	return b, nil
}

// readMFTBlock reads the block of $MFT at off, clipped to the stream's
// end, or returns nil when any part of it fails to read.
func (v *Volume) readMFTBlock(off int64) []byte {
	n := min(int64(mftBlockBytes), v.mft.size-off)
	if n <= 0 {
		return nil
	}
	data := make([]byte, n)
	if got, err := v.mft.ReadAt(data, off); err != nil || int64(got) != n {
		return nil
	}
	return data
}
