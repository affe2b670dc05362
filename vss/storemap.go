package vss

import (
	"fmt"
	"math/bits"
)

// Bounds on a store's metadata. A block list block holds 508 descriptors;
// 8192 blocks (128 MiB of block list, over four million copied blocks,
// 64 GiB of changes) is far beyond what one copy keeps in practice, and
// bounds the memory a hostile list can claim.
const (
	descriptorsPerBlock = (BlockSize - blockHeaderSize) / descriptorSize
	maxListBlocks       = 8192
	bitmapBitsPerBlock  = (BlockSize - blockHeaderSize) * 8
)

// storeMap is a store's block list resolved into lookups by block number:
// fwd by the original block a descriptor stands for, rev (forwarders) by
// the block they forward to.
type storeMap struct {
	fwd map[int64]*descriptor
	rev map[int64]*descriptor

	// Bitmaps of blocks the store (and its predecessor) did not use; nil
	// when absent. Only consulted for the newest store.
	current, previous []byte
}

// loadMap reads the block list (and, for the newest store, the bitmaps)
// of s from d, the volume holding its data.
func loadMap(s *Store, d device, newest bool) (*storeMap, error) {
	m := &storeMap{fwd: make(map[int64]*descriptor), rev: make(map[int64]*descriptor)}
	blocks := (s.VolumeSize + BlockSize - 1) / BlockSize
	err := d.walkChain(s.loc.BlockList, recBlockList, maxListBlocks, func(off int64, _ blockHeader, b []byte) error {
		for p := blockHeaderSize; p+descriptorSize <= BlockSize; p += descriptorSize {
			e := b[p : p+descriptorSize]
			if allZero(e) {
				continue
			}
			ds := parseDescriptor(e)
			if err := checkDescriptor(ds, s.VolumeSize, d.size); err != nil {
				return formatErr(off+int64(p), "store %s: %v", s.ID, err)
			}
			m.insert(ds)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if newest {
		if m.current, err = readBitmap(d, s.loc.Bitmap, blocks); err != nil {
			return nil, err
		}
		if m.previous, err = readBitmap(d, s.loc.PreviousBitmap, blocks); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// checkDescriptor refuses entries that would read outside a volume.
func checkDescriptor(d descriptor, volSize, storeSize int64) error {
	if d.Flags&flagNotUsed != 0 {
		return nil
	}
	if d.Original < 0 || d.Original >= volSize {
		return fmt.Errorf("block descriptor for offset 0x%x outside the volume", d.Original)
	}
	if d.Flags&(flagForwarder|flagOverlay) == flagForwarder|flagOverlay {
		return fmt.Errorf("block descriptor for offset 0x%x is both forwarder and overlay", d.Original)
	}
	if d.Flags&flagForwarder != 0 {
		if d.Relative < 0 || d.Relative >= volSize {
			return fmt.Errorf("forwarder to offset 0x%x outside the volume", d.Relative)
		}
		return nil
	}
	if d.Offset < 0 || d.Offset > storeSize-BlockSize {
		return fmt.Errorf("copied block at 0x%x outside the store's volume", d.Offset)
	}
	return nil
}

// insert adds one descriptor in list order. Later entries for the same
// block replace earlier ones; an overlay entry is kept beside the entry it
// covers (and a second overlay widens the first); a forwarder that an
// earlier forwarder pointed at takes over that forwarder's original block,
// so chains of moves collapse; a forwarder that ends where it started is
// dropped.
func (m *storeMap) insert(d descriptor) {
	if d.Flags&flagNotUsed != 0 {
		return
	}
	orig := d.Original
	if d.Flags&flagOverlay == 0 {
		if r := m.rev[d.Original/BlockSize]; r != nil {
			orig = r.Original
			delete(m.rev, r.Relative/BlockSize)
		}
	}
	if d.Flags&flagForwarder != 0 && orig == d.Relative {
		return
	}
	nd := d
	nd.Original = orig
	key := orig / BlockSize
	if old := m.fwd[key]; old != nil {
		if nd.Flags&flagOverlay != 0 {
			ov := old.overlay
			if old.Flags&flagOverlay != 0 {
				ov = old
			}
			if ov != nil {
				ov.Bitmap |= nd.Bitmap
			} else {
				old.overlay = &nd
			}
			return
		}
		if old.Flags&flagOverlay != 0 {
			nd.overlay = old
		} else {
			nd.overlay = old.overlay
		}
	}
	m.fwd[key] = &nd
	if nd.Flags&flagForwarder != 0 {
		m.rev[nd.Relative/BlockSize] = &nd
	}
}

// readBitmap reads the chain of bitmap blocks at off, keeping the bits of
// the first blocks blocks. A zero off gives nil.
func readBitmap(d device, off, blocks int64) ([]byte, error) {
	if off == 0 {
		return nil, nil
	}
	need := (blocks + 7) / 8
	chain := int(need/(bitmapBitsPerBlock/8)) + 2
	// Grown as blocks come: need is only what the store's size claims.
	out := make([]byte, 0, min(need, 1<<20))
	err := d.walkChain(off, recBitmap, chain, func(_ int64, _ blockHeader, b []byte) error {
		rest := need - int64(len(out))
		data := b[blockHeaderSize:BlockSize]
		if int64(len(data)) > rest {
			data = data[:rest]
		}
		out = append(out, data...)
		return nil
	})
	return out, err
}

// bitSet reports whether block n is marked in bm (bit 0 of byte 0 is the
// first block). Blocks past the bitmap's end are unmarked.
func bitSet(bm []byte, n int64) bool {
	if n < 0 || n/8 >= int64(len(bm)) {
		return false
	}
	return bm[n/8]&(1<<(n%8)) != 0
}

// sectorRun tells, for the overlay bitmap bm and the sector sec of the
// block (0..31), whether that sector is held and how many sectors in a
// row from sec share the answer.
func sectorRun(bm uint32, sec uint) (held bool, n uint) {
	x := bm >> sec
	held = x&1 != 0
	if held {
		n = uint(bits.TrailingZeros32(^x))
	} else {
		n = uint(bits.TrailingZeros32(x))
	}
	return held, min(n, 32-sec)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
