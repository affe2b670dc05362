package vhdx

import (
	"fmt"
	"sort"
	"sync"
	"unsafe"

	"github.com/ckptfs/ckptfs/internal/lrucache"
	"github.com/ckptfs/ckptfs/internal/membudget"
)

// run is a stretch of a mixed unit owned by one layer (or zeros/absent).
type run struct {
	start, end int64 // offsets inside the unit
	kind       int   // unitAbsent, unitZero, unitData, unitInvalid
	layer      int
	fileOff    int64 // file offset of start, for unitData
}

type runList []run

// find returns the runs from the one containing off onwards.
func (rl runList) find(off int64) runList {
	i := sort.Search(len(rl), func(i int) bool { return rl[i].end > off })
	return rl[i:]
}

// runsOf returns the sector runs of mixed unit u, from the cache or built
// from the layers' sector bitmaps.
func (c *Chain) runsOf(u int64) (runList, error) {
	if rl, ok := c.runs.Get(u); ok {
		return rl, nil
	}
	rl, err := c.buildRuns(u)
	if err != nil {
		return nil, err
	}
	c.runs.Put(u, rl)
	return rl, nil
}

func (c *Chain) buildRuns(u int64) (runList, error) {
	ref := unitRef(c.units.get(u))
	m := c.mixed[ref.value()]
	unitLen := min(int64(1)<<c.unitShift, c.size-u<<c.unitShift)
	partial := m.stack[:len(m.stack)-1]
	bitmaps, err := c.bitmaps(partial)
	if err != nil {
		return nil, err
	}
	last := m.stack[len(m.stack)-1]
	var rl runList
	g := c.sectorSize
	// Eight sectors at a time where every partial layer's bitmap byte
	// for them is all clear or all set (a layer's writes are runs of
	// sectors): a 32 MiB unit of 512-byte sectors is 65,536 sectors, and
	// a sector at a time was a tenth of the CPU of a sequential read of
	// a remote 4-layer chain.
	bytewise := true
	for _, lb := range partial {
		bytewise = bytewise && c.Layers[lb.layer].LogicalSectorSize == g
	}
	for x := int64(0); x < unitLen; {
		step := g
		owner, whole := -1, false
		if bytewise && x+8*g <= unitLen {
			owner, whole = byteOwner(partial, bitmaps, x, g)
		}
		if whole {
			step = 8 * g
		} else {
			owner = -1
			for i, lb := range partial {
				sec := (lb.start + x) / c.Layers[lb.layer].LogicalSectorSize
				if sec>>3 < int64(len(bitmaps[i])) && bitmaps[i][sec>>3]&(1<<(sec&7)) != 0 {
					owner = i
					break
				}
			}
		}
		r := c.runFor(owner, partial, last, x)
		if n := len(rl); n > 0 && rl[n-1].end == x && rl[n-1].kind == r.kind && rl[n-1].layer == r.layer &&
			(r.kind != unitData || rl[n-1].fileOff+(x-rl[n-1].start) == r.fileOff) {
			rl[n-1].end = x + step
		} else {
			r.end = x + step
			rl = append(rl, r)
		}
		x += step
	}
	rl[len(rl)-1].end = unitLen
	return rl, nil
}

// byteOwner decides the eight sectors from x (of size g, every partial
// layer's sector size) at once when it can: whole is true when each
// layer's bitmap byte for them starts at a byte boundary and is 0x00 or
// 0xff up to the first layer that holds them all (owner; -1 when none
// does).
func byteOwner(partial []layerBlock, bitmaps [][]byte, x, g int64) (owner int, whole bool) {
	for i, lb := range partial {
		sec := (lb.start + x) / g
		if sec&7 != 0 {
			return -1, false
		}
		var b byte // past the bitmap's end: not present
		if sec>>3 < int64(len(bitmaps[i])) {
			b = bitmaps[i][sec>>3]
		}
		switch b {
		case 0xff:
			return i, true
		case 0:
		default:
			return -1, false
		}
	}
	return -1, true
}

// bitmaps reads the sector bitmaps of a unit's partial layers. Layers
// read over a network (a remote object: a prefetcher) are read in
// parallel: each first read of a layer's bitmap is a request, and a chain
// of remote layers would otherwise wait for them one after the other.
func (c *Chain) bitmaps(partial []layerBlock) ([][]byte, error) {
	out := make([][]byte, len(partial))
	errs := make([]error, len(partial))
	read := func(i int) {
		lb := partial[i]
		d := c.Layers[lb.layer]
		bm, err := d.SectorBitmap(lb.block)
		if err != nil {
			err = fmt.Errorf("%s: sector bitmap of block %d: %w", d.Name, lb.block, err)
		}
		out[i], errs[i] = bm, err
	}
	remote := 0
	for _, lb := range partial {
		if c.Layers[lb.layer].hint != nil {
			remote++
		}
	}
	if remote < 2 {
		for i := range partial {
			read(i)
		}
	} else {
		var wg sync.WaitGroup
		for i := range partial {
			wg.Add(1)
			go func() {
				defer wg.Done()
				read(i)
			}()
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// runFor says who owns the sector at x: partial layer owner, or the
// stack's deciding entry when no bitmap claims it.
func (c *Chain) runFor(owner int, partial []layerBlock, last layerBlock, x int64) run {
	if owner >= 0 {
		lb := partial[owner]
		return run{start: x, kind: unitData, layer: lb.layer, fileOff: lb.off + x}
	}
	switch last.state {
	case BlockPresent:
		return run{start: x, kind: unitData, layer: last.layer, fileOff: last.off + x}
	case BlockZero:
		return run{start: x, kind: unitZero, layer: last.layer}
	case BlockInvalid:
		return run{start: x, kind: unitInvalid, layer: last.layer}
	}
	return run{start: x, kind: unitAbsent, layer: -1}
}

// runCache keeps built run lists, bounded by the total number of runs so a
// pathological bitmap (alternating sectors) cannot grow it without limit,
// and counted in the process-wide memory budget (internal/membudget),
// which sheds the least recently used caches of every chain and volume
// when they pass it together.
type runCache = lrucache.Cache[int64, runList]

// runBytes is what a cached run list holds: its runs.
func runBytes(rl runList) int64 { return int64(cap(rl)) * int64(unsafe.Sizeof(run{})) }

const defaultRunBudget = 1 << 20 // runs, about 40 MiB at worst

func newRunCache(budget int) *runCache {
	return lrucache.New[int64, runList](budget, func(rl runList) int { return len(rl) }).
		Budget(membudget.Default, "vhdx run lists", runBytes)
}
