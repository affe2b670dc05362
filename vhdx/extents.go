package vhdx

import "fmt"

// Extents describes [off, off+n) as consecutive extents covering it
// exactly (clipped to Size); adjacent extents of equal kind and layer are
// merged. It reads sector bitmaps only for mixed units.
func (c *Chain) Extents(off, n int64) ([]Extent, error) {
	if off < 0 || n < 0 {
		return nil, fmt.Errorf("vhdx: bad extent query %d+%d", off, n)
	}
	end := min(off+n, c.size)
	var out []Extent
	add := func(e Extent) {
		if e.Len <= 0 {
			return
		}
		if k := len(out); k > 0 && out[k-1].End() == e.Off && out[k-1].Kind == e.Kind && out[k-1].Layer == e.Layer {
			out[k-1].Len += e.Len
			return
		}
		out = append(out, e)
	}
	unit := int64(1) << c.unitShift
	for pos := off; pos < end; {
		u := pos >> c.unitShift
		ustart := u << c.unitShift
		uend := min(ustart+unit, end)
		ref := unitRef(c.units.get(u))
		switch ref.kind() {
		case unitAbsent:
			add(Extent{Off: pos, Len: uend - pos, Kind: ExtentAbsent, Layer: -1})
		case unitZero:
			add(Extent{Off: pos, Len: uend - pos, Kind: ExtentZero, Layer: ref.layer()})
		case unitData:
			add(Extent{Off: pos, Len: uend - pos, Kind: ExtentData, Layer: ref.layer()})
		case unitInvalid:
			return out, c.invalid(ref.layer(), u)
		default:
			rl, err := c.runsOf(u)
			if err != nil {
				return out, err
			}
			for _, r := range rl.find(pos - ustart) {
				from, to := max(ustart+r.start, pos), min(ustart+r.end, uend)
				if from >= to {
					break
				}
				if r.kind == unitInvalid {
					return out, c.invalid(r.layer, u)
				}
				add(Extent{Off: from, Len: to - from, Kind: extentKind(r.kind), Layer: r.layer})
			}
		}
		pos = uend
	}
	return out, nil
}

func extentKind(k int) ExtentKind {
	switch k {
	case unitZero:
		return ExtentZero
	case unitData:
		return ExtentData
	}
	return ExtentAbsent
}
