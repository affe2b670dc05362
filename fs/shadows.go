//go:build linux

package fs

import (
	"github.com/ckptfs/ckptfs/vhdx"
	"github.com/ckptfs/ckptfs/vss"
)

// shadowImage is a shadow copy's volume as volumes/<copy>.raw: blocks the copy
// did not use are zero extents (holes for SEEK_HOLE and cp --sparse),
// everything else data.
type shadowImage struct{ r *vss.Reader }

func (s shadowImage) ReadAt(p []byte, off int64) (int, error) { return s.r.ReadAt(p, off) }
func (s shadowImage) Size() int64                             { return s.r.Size() }

func (s shadowImage) Extents(off, n int64) ([]vhdx.Extent, error) {
	var out []vhdx.Extent
	for _, e := range s.r.Extents(off, n) {
		kind := vhdx.ExtentData
		if e.Source == vss.Zero {
			kind = vhdx.ExtentZero
		}
		if k := len(out) - 1; k >= 0 && out[k].Kind == kind {
			out[k].Len += e.Len
			continue
		}
		out = append(out, vhdx.Extent{Off: e.Off, Len: e.Len, Kind: kind})
	}
	return out, nil
}
