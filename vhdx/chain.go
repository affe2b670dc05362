package vhdx

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync/atomic"
)

// Chain is a differencing chain resolved in memory: Layers[0] is the top
// file (the checkpoint's own disk), the last is the base. Opening it builds
// once a table with one entry per unit (the smallest block size in the
// chain) that names the layer owning the unit whole, or zeros, or nothing,
// or marks it mixed; a mixed unit's sector runs are built from the layers'
// bitmaps on first use and cached with a bound. Reads therefore cost one
// table lookup per unit and never walk the chain. Safe for concurrent use.
type Chain struct {
	Layers []*Disk

	size       int64
	sectorSize int64
	unitShift  uint
	units      *sparseTable // packed unitRef per unit
	mixed      []mixedUnit
	runs       *runCache
	ra         readAhead
	probed     atomic.Bool // the first read at offset 0 was hinted
	owned      bool
}

// ChainOptions tunes OpenChain and NewChain.
type ChainOptions struct {
	// IgnoreLinkage accepts a parent whose identity does not match.
	IgnoreLinkage bool
	// MaxDepth bounds the chain (default 256).
	MaxDepth int
}

const defaultMaxDepth = 256

// unitRef packs what the table says about one unit:
// bits 0-2 kind, bits 3-14 layer, bits 15-63 file offset / 512 (data) or
// index into Chain.mixed (mixed). Absent is 0 so empty pages stay nil.
type unitRef uint64

const (
	unitAbsent = iota
	unitZero
	unitData
	unitMixed
	unitInvalid
)

const maxLayers = 1 << 12

func makeRef(kind int, layer int, v int64) unitRef {
	return unitRef(uint64(kind) | uint64(layer)<<3 | uint64(v)<<15)
}

func (r unitRef) kind() int    { return int(r & 7) }
func (r unitRef) layer() int   { return int(r>>3) & (maxLayers - 1) }
func (r unitRef) value() int64 { return int64(r >> 15) }

// layerBlock is one layer's part of a mixed unit.
type layerBlock struct {
	layer int
	state BlockState
	off   int64 // file offset of the unit's first byte in this layer
	block int64 // the layer's block number
	start int64 // the unit's offset inside that block
}

// mixedUnit lists, top down, the partial layers of a unit, ending with the
// entry that decides sectors no bitmap claims (present, zero, invalid, or
// absent at the bottom).
type mixedUnit struct {
	stack []layerBlock
}

// NewChain resolves already opened layers, top first. It verifies that each
// layer's parent linkage names the next one (unless opt.IgnoreLinkage).
// The layers stay owned by the caller; Close does not close them.
func NewChain(layers []*Disk, opt ChainOptions) (*Chain, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("%w: empty chain", ErrParent)
	}
	depth := opt.MaxDepth
	if depth <= 0 {
		depth = defaultMaxDepth
	}
	if len(layers) > min(depth, maxLayers) {
		return nil, fmt.Errorf("%w: chain of %d layers is deeper than %d", ErrParent, len(layers), min(depth, maxLayers))
	}
	for i, d := range layers {
		for _, e := range layers[:i] {
			if e == d {
				return nil, fmt.Errorf("%w: %s appears twice in its own chain (loop)", ErrParent, d.Name)
			}
		}
		last := i == len(layers)-1
		if last && d.Type == TypeDifferencing {
			return nil, fmt.Errorf("%w: %s is a differencing disk but its parent was not given", ErrParent, d.Name)
		}
		if !last {
			if d.Type != TypeDifferencing {
				return nil, fmt.Errorf("%w: %s has no parent but %s was given as one", ErrParent, d.Name, layers[i+1].Name)
			}
			if err := CheckLinkage(d, layers[i+1]); err != nil && !(opt.IgnoreLinkage && errors.Is(err, ErrParent)) {
				return nil, err
			}
		}
	}
	c := &Chain{Layers: layers, size: layers[0].VirtualSize, sectorSize: layers[0].LogicalSectorSize}
	c.ra.local = true
	for _, d := range layers {
		c.ra.local = c.ra.local && d.hint == nil
		if w, ok := d.hint.(windowed); ok {
			c.ra.window = max(c.ra.window, w.ReadAheadWindow())
		}
		if g, ok := d.hint.(gapped); ok {
			c.ra.gap = max(c.ra.gap, g.PrefetchGap())
		}
	}
	unit := layers[0].BlockSize
	for _, d := range layers {
		unit = min(unit, d.BlockSize)
		c.sectorSize = min(c.sectorSize, d.LogicalSectorSize)
	}
	if unit <= 0 || unit&(unit-1) != 0 {
		return nil, fmt.Errorf("%w: block size %d is not a power of two", ErrUnsupported, unit)
	}
	c.unitShift = uint(bits.TrailingZeros64(uint64(unit)))
	c.build()
	c.runs = newRunCache(defaultRunBudget)
	return c, nil
}

// build fills the unit table. Cost: units × layers block lookups, once.
func (c *Chain) build() {
	unit := int64(1) << c.unitShift
	n := (c.size + unit - 1) >> c.unitShift
	c.units = newSparseTable(n)
	var stack []layerBlock
	for u := int64(0); u < n; u++ {
		pos := u << c.unitShift
		stack = stack[:0]
		ref := makeRef(unitAbsent, 0, 0)
		for li, d := range c.Layers {
			if pos >= d.VirtualSize {
				continue // a smaller parent holds nothing here
			}
			blk := pos / d.BlockSize
			start := pos - blk*d.BlockSize
			st, off := d.BlockInfo(blk)
			lb := layerBlock{layer: li, state: st, off: off + start, block: blk, start: start}
			switch st {
			case BlockAbsent:
				continue
			case BlockPartial:
				stack = append(stack, lb)
				continue
			case BlockZero:
				ref = makeRef(unitZero, li, 0)
			case BlockPresent:
				ref = makeRef(unitData, li, lb.off>>9)
			case BlockInvalid:
				ref = makeRef(unitInvalid, li, 0)
			}
			if len(stack) > 0 {
				stack = append(stack, lb)
			}
			break
		}
		if len(stack) > 0 {
			if last := stack[len(stack)-1]; last.state == BlockPartial {
				stack = append(stack, layerBlock{layer: -1, state: BlockAbsent})
			}
			ref = makeRef(unitMixed, 0, int64(len(c.mixed)))
			c.mixed = append(c.mixed, mixedUnit{stack: append([]layerBlock(nil), stack...)})
		}
		c.units.set(u, uint64(ref))
	}
}

// Size returns the virtual size (the top layer's).
func (c *Chain) Size() int64 { return c.size }

// SectorSize returns the logical sector size of the virtual disk.
func (c *Chain) SectorSize() int64 { return c.sectorSize }

// UnitSize is the granularity of the resolution table.
func (c *Chain) UnitSize() int64 { return 1 << c.unitShift }

// Close closes the layers when the chain was opened by OpenChain.
func (c *Chain) Close() error {
	if !c.owned {
		return nil
	}
	var first error
	for _, d := range c.Layers {
		if err := d.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ReadAt reads the virtual disk. Ranges no layer holds read as zeros.
func (c *Chain) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("vhdx: negative offset %d", off)
	}
	if off >= c.size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > c.size-off {
		p = p[:c.size-off]
	}
	c.readAheadFor(off, int64(len(p)))
	unit := int64(1) << c.unitShift
	for done := 0; done < len(p); {
		pos := off + int64(done)
		u := pos >> c.unitShift
		within := pos - u<<c.unitShift
		n := int(min(int64(len(p)-done), unit-within))
		if err := c.readUnit(p[done:done+n], u, within); err != nil {
			return done, err
		}
		done += n
	}
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}

func (c *Chain) readUnit(p []byte, u, within int64) error {
	ref := unitRef(c.units.get(u))
	switch ref.kind() {
	case unitAbsent, unitZero:
		clear(p)
		return nil
	case unitData:
		return c.readLayer(ref.layer(), p, ref.value()<<9+within)
	case unitInvalid:
		return c.invalid(ref.layer(), u)
	}
	runs, err := c.runsOf(u)
	if err != nil {
		return err
	}
	return c.readMixed(p, u, within, runs)
}

func (c *Chain) invalid(layer int, u int64) error {
	d := c.Layers[layer]
	return fmt.Errorf("%s: %w", d.Name, d.blocks.blockError((u<<c.unitShift)/d.BlockSize))
}

func (c *Chain) readLayer(layer int, p []byte, off int64) error {
	d := c.Layers[layer]
	n, err := d.r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%s: reading %d bytes at file offset 0x%x: %w", d.Name, len(p), off, err)
}

var _ Image = (*Chain)(nil)
