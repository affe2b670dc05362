package merge

import (
	"fmt"

	"github.com/ckptfs/ckptfs/vhdx"
)

// fill is one range the child must take into itself.
type fill struct {
	off, n int64
	data   bool // read the bytes from the chain; else zeros
}

// blockFills lists what child block blk (of size bs) must take from the
// chain c = [child, folded, ...] so that it reads the same once the folded
// layer (index 1) is gone:
//   - with a grandparent, the sectors the folded layer supplies (its data,
//     and zeros where it hid the grandparent);
//   - without one (the folded layer is the base), every sector the child
//     does not hold, in blocks the child holds partly or where the base
//     has data: the child becomes a dynamic disk, which has no partial
//     blocks and reads its unallocated blocks as zeros.
//
// zeroBlock reports that the whole block only needs zeros from the folded
// layer and the child has nothing there: it can become a ZERO block.
func blockFills(c *vhdx.Chain, bs, blk int64) (fills []fill, zeroBlock bool, err error) {
	off := blk * bs
	n := min(bs, c.Size()-off)
	ext, err := c.Extents(off, n)
	if err != nil {
		return nil, false, err
	}
	base := len(c.Layers) == 2
	st, _ := c.Layers[0].BlockInfo(blk)
	needed := st == vhdx.BlockPartial
	zeroBlock = !base && st == vhdx.BlockAbsent
	for _, e := range ext {
		if e.Layer == 1 && e.Kind == vhdx.ExtentData {
			needed = true
		}
		if e.Layer != 1 || e.Kind != vhdx.ExtentZero {
			zeroBlock = false
		}
	}
	if zeroBlock { // n is a whole block, or ends at the disk's end: MarkZero takes both
		return nil, true, nil
	}
	for _, e := range ext {
		switch {
		case e.Layer == 0:
		case !base && e.Layer == 1, base && needed:
			fills = append(fills, fill{off: e.Off, n: e.Len, data: e.Kind == vhdx.ExtentData})
		}
	}
	return fills, false, nil
}

// copyBytes sums what a fold into the top of c will write.
func copyBytes(c *vhdx.Chain, bs int64) (int64, error) {
	if len(c.Layers) < 2 {
		return 0, nil
	}
	var total int64
	for blk := int64(0); blk*bs < c.Size(); blk++ {
		fs, _, err := blockFills(c, bs, blk)
		if err != nil {
			return 0, err
		}
		for _, f := range fs {
			total += f.n
		}
	}
	return total, nil
}

// folder carries one fold out.
type folder struct {
	c        *vhdx.Chain
	u        *vhdx.Update
	batch    int
	buf      []byte
	progress func(n int64)
}

const readChunk = 4 << 20

// run fills every block, committing whenever a batch of metadata pages
// is pending. Each commit leaves the child reading as before, since it
// still has the folded layer as its parent.
func (f *folder) run(checkCtx func() error) error {
	bs := f.u.BlockSize()
	for blk := int64(0); blk*bs < f.c.Size(); blk++ {
		if err := checkCtx(); err != nil {
			return err
		}
		fs, zero, err := blockFills(f.c, bs, blk)
		if err != nil {
			return err
		}
		if zero {
			if err := f.u.MarkZero(blk*bs, min(bs, f.c.Size()-blk*bs)); err != nil {
				return err
			}
		}
		for _, x := range fs {
			if err := f.fill(x); err != nil {
				return err
			}
		}
		if f.u.Pending() >= f.batch {
			if err := f.u.Commit(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *folder) fill(x fill) error {
	for pos := x.off; pos < x.off+x.n; {
		n := min(int64(len(f.buf)), x.off+x.n-pos)
		p := f.buf[:n]
		if x.data {
			if _, err := f.c.ReadAt(p, pos); err != nil {
				return fmt.Errorf("reading the chain at %d: %w", pos, err)
			}
		} else {
			clear(p)
		}
		if err := f.u.Fill(p, pos); err != nil {
			return err
		}
		if f.progress != nil {
			f.progress(n)
		}
		pos += n
	}
	return nil
}
