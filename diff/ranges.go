package diff

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/ckptfs/ckptfs/vhdx"
)

// chunkSize is how much of each state is read at once when confirming.
const chunkSize = 4 << 20

// diskDiff is the confirmed difference of one disk between two states.
type diskDiff struct {
	name   string
	a, b   *vhdx.Chain
	onlyA  []*vhdx.Disk // layers of a's chain that b's does not have
	onlyB  []*vhdx.Disk
	cands  []span // candidate ranges from the exclusive layers
	differ []span // confirmed: sectors whose bytes differ
}

// newDiskDiff finds the candidate ranges of one disk.
func newDiskDiff(name string, a, b *vhdx.Chain) (*diskDiff, error) {
	d := &diskDiff{name: name, a: a, b: b}
	d.onlyA = exclusive(a.Layers, b.Layers)
	d.onlyB = exclusive(b.Layers, a.Layers)
	size := max(a.Size(), b.Size())
	var err error
	if d.cands, err = candidates(append(append([]*vhdx.Disk(nil), d.onlyA...), d.onlyB...), size); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if a.Size() != b.Size() {
		// The tail only one state has differs from the other's nothing.
		lo := min(a.Size(), b.Size())
		d.cands = normalize(append(d.cands, span{lo, size}))
	}
	return d, nil
}

// confirm reads both states over the candidate ranges and keeps the
// sectors that differ. progress is called after each chunk.
func (d *diskDiff) confirm(ctx context.Context, progress func(int64)) error {
	sector := max(d.a.SectorSize(), d.b.SectorSize(), 1)
	bufA := make([]byte, chunkSize)
	bufB := make([]byte, chunkSize)
	var out []span
	for _, c := range d.cands {
		for off := c.off; off < c.end; {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := min(c.end-off, chunkSize)
			pa, pb := bufA[:n], bufB[:n]
			if err := readState(d.a, pa, off); err != nil {
				return fmt.Errorf("%s: %w", d.name, err)
			}
			if err := readState(d.b, pb, off); err != nil {
				return fmt.Errorf("%s: %w", d.name, err)
			}
			if !bytes.Equal(pa, pb) {
				out = differingSectors(out, pa, pb, off, sector)
			}
			off += n
			if progress != nil {
				progress(n)
			}
		}
	}
	d.differ = normalize(out)
	return nil
}

// differingSectors appends the sector runs where a and b (read at off)
// differ. Sectors are counted from the start of the disk.
func differingSectors(out []span, a, b []byte, off, sector int64) []span {
	n := int64(len(a))
	for i := int64(0); i < n; {
		j := min((off+i)/sector*sector+sector-off, n) // end of this sector
		if !bytes.Equal(a[i:j], b[i:j]) {
			if k := len(out); k > 0 && out[k-1].end == off+i {
				out[k-1].end = off + j
			} else {
				out = append(out, span{off + i, off + j})
			}
		}
		i = j
	}
	return out
}

// readState reads a state of the disk; bytes past its size read as zeros,
// so that states of different sizes compare.
func readState(c *vhdx.Chain, p []byte, off int64) error {
	clear(p)
	if off >= c.Size() {
		return nil
	}
	q := p[:min(int64(len(p)), c.Size()-off)]
	n, err := c.ReadAt(q, off)
	if n == len(q) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading %d bytes at 0x%x: %w", len(q), off, err)
}

// ranges turns the confirmed sectors into Ranges naming the layer that
// wrote each part.
func (d *diskDiff) ranges() ([]Range, error) {
	var out []Range
	add := func(off, end int64, layer string) {
		if k := len(out); k > 0 && out[k-1].End() == off && out[k-1].Layer == layer {
			out[k-1].Length += end - off
			return
		}
		out = append(out, Range{Disk: d.name, Offset: off, Length: end - off, Layer: layer})
	}
	for _, s := range d.differ {
		owners, err := d.owners(s)
		if err != nil {
			return nil, err
		}
		for _, o := range owners {
			add(o.off, o.end, o.layer)
		}
	}
	return out, nil
}

type owned struct {
	span
	layer string
}

// owners splits s by the layer that made it differ: b's owner when it is
// one of b's own layers, else a's owner when it is one of a's own.
func (d *diskDiff) owners(s span) ([]owned, error) {
	exB, err := extents(d.b, s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.name, err)
	}
	var out []owned
	for _, e := range exB {
		if e.Layer >= 0 && layerIn(d.b.Layers[e.Layer], d.onlyB) {
			out = append(out, owned{span{e.Off, e.End()}, layerName(d.b.Layers[e.Layer])})
			continue
		}
		exA, err := extents(d.a, span{e.Off, e.End()})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.name, err)
		}
		for _, x := range exA {
			name := ""
			switch {
			case x.Layer >= 0 && layerIn(d.a.Layers[x.Layer], d.onlyA):
				name = layerName(d.a.Layers[x.Layer])
			case e.Layer >= 0:
				name = layerName(d.b.Layers[e.Layer])
			}
			out = append(out, owned{span{x.Off, x.End()}, name})
		}
	}
	return out, nil
}

// extents is Chain.Extents that also covers the part of s past the
// chain's size, as one absent extent.
func extents(c *vhdx.Chain, s span) ([]vhdx.Extent, error) {
	var out []vhdx.Extent
	if s.off < c.Size() {
		ex, err := c.Extents(s.off, min(s.end, c.Size())-s.off)
		if err != nil {
			return nil, err
		}
		out = ex
	}
	if s.end > c.Size() {
		from := max(s.off, c.Size())
		out = append(out, vhdx.Extent{Off: from, Len: s.end - from, Kind: vhdx.ExtentAbsent, Layer: -1})
	}
	return out, nil
}
