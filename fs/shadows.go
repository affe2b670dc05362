//go:build linux

package fs

import (
	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/vhdx"
)

// shadowImage is a shadow copy's volume as volumes/<copy>.raw: blocks the copy
// did not use are zero extents (holes for SEEK_HOLE and cp --sparse),
// everything else data.
type shadowImage struct{ v *guest.Volume }

func (s shadowImage) ReadAt(p []byte, off int64) (int, error) { return s.v.Reader.ReadAt(p, off) }
func (s shadowImage) Size() int64                             { return s.v.Size }

func (s shadowImage) Extents(off, n int64) ([]vhdx.Extent, error) {
	var out []vhdx.Extent
	exts, _ := s.v.ShadowExtents(off, n)
	for _, e := range exts {
		kind := vhdx.ExtentData
		if e.Source == guest.ShadowZero {
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
