package diff

import (
	"fmt"

	"github.com/ckptfs/ckptfs/vhdx"
)

// candidates returns the ranges that the given layers hold anything for:
// their present, zero and damaged blocks whole, and the sectors their
// bitmaps claim in partial blocks. Only these layers' BATs are read, so
// the cost is their block count plus their partial blocks' bitmaps.
func candidates(layers []*vhdx.Disk, size int64) ([]span, error) {
	var out []span
	for _, d := range layers {
		var err error
		if out, err = layerSpans(out, d, size); err != nil {
			return nil, err
		}
	}
	return normalize(out), nil
}

func layerSpans(out []span, d *vhdx.Disk, size int64) ([]span, error) {
	limit := min(size, d.VirtualSize)
	for i := int64(0); i < d.Blocks(); i++ {
		start := i * d.BlockSize
		if start >= limit {
			break
		}
		end := min(start+d.BlockSize, limit)
		st, _ := d.BlockInfo(i)
		switch st {
		case vhdx.BlockAbsent:
			continue
		case vhdx.BlockPartial:
			bm, err := d.SectorBitmap(i)
			if err != nil {
				return nil, fmt.Errorf("%s: sector bitmap of block %d: %w", d.Name, i, err)
			}
			out = bitmapSpans(out, bm, start, end, d.LogicalSectorSize)
		default:
			// Present and zero blocks may differ anywhere; an invalid
			// block is listed so that confirming it reports the damage.
			out = append(out, span{start, end})
		}
	}
	return out, nil
}

// bitmapSpans appends the runs of set bits of an LSB-first sector bitmap
// for the block [start, end).
func bitmapSpans(out []span, bm []byte, start, end, sector int64) []span {
	n := min(int64(len(bm))*8, (end-start+sector-1)/sector)
	for s := int64(0); s < n; {
		if bm[s/8] == 0 && s%8 == 0 {
			s += 8
			continue
		}
		if bm[s/8]&(1<<(s%8)) == 0 {
			s++
			continue
		}
		r := s
		for r < n && bm[r/8]&(1<<(r%8)) != 0 {
			r++
		}
		out = append(out, span{start + s*sector, min(start+r*sector, end)})
		s = r
	}
	return out
}
