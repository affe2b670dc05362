package export

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/ckptfs/ckptfs/vhdx"
)

// writeIncremental writes a differencing VHDX over BaseFile holding the
// sectors where the source differs from Base. Ranges that both images
// take from the same layer file are equal without reading them; others
// are read from both and compared sector by sector.
func (j *job) writeIncremental(tmp string) error {
	parent, err := vhdx.OpenDisk(j.opt.BaseFile)
	if err != nil {
		return fmt.Errorf("base: %w", err)
	}
	defer parent.Close()
	ss := j.opt.sectorSize(j.src)
	size := j.src.Size()
	if size%ss != 0 {
		return fmt.Errorf("%w: virtual size %d is not a multiple of the %d-byte sector", ErrOptions, size, ss)
	}
	w, err := vhdx.Create(tmp, vhdx.CreateOptions{VirtualSize: size, BlockSize: j.opt.BlockSize,
		LogicalSectorSize: ss, Parent: parent, ParentPath: j.opt.BaseFile})
	if err != nil {
		return err
	}
	d := &differ{j: j, w: w, ss: ss, a: make([]byte, chunk), b: make([]byte, chunk)}
	err = d.run()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

type differ struct {
	j    *job
	w    *vhdx.Writer
	ss   int64
	a, b []byte
}

// piece is a range with what the source and the base say about it.
type piece struct {
	off, end int64
	src, old vhdx.Extent
	oldGone  bool // past the end of the base
}

func (d *differ) run() error {
	size := d.j.src.Size()
	base := d.j.opt.Base
	for off := int64(0); off < size; off += window {
		if err := d.j.ctx.Err(); err != nil {
			return err
		}
		n := min(window, size-off)
		se, err := d.j.src.Extents(off, n)
		if err != nil {
			return fmt.Errorf("extents at %d: %w", off, err)
		}
		var be []vhdx.Extent
		if off < base.Size() {
			if be, err = base.Extents(off, min(n, base.Size()-off)); err != nil {
				return fmt.Errorf("base extents at %d: %w", off, err)
			}
		}
		for _, p := range pieces(se, be) {
			if d.same(p) {
				continue
			}
			if err := d.compare(p.off, p.end); err != nil {
				return err
			}
		}
		d.j.report(off + n)
	}
	return nil
}

// pieces cuts the source's extents where the base's change.
func pieces(se, be []vhdx.Extent) []piece {
	var out []piece
	k := 0
	for _, s := range se {
		for pos := s.Off; pos < s.End(); {
			for k < len(be) && be[k].End() <= pos {
				k++
			}
			p := piece{off: pos, end: s.End(), src: s, oldGone: k >= len(be)}
			if !p.oldGone {
				p.old = be[k]
				p.end = min(p.end, be[k].End())
			}
			out = append(out, p)
			pos = p.end
		}
	}
	return out
}

// same tells, without reading, that both sides hold the same bytes: both
// are holes, or both come from the same layer file.
func (d *differ) same(p piece) bool {
	srcHole := p.src.Kind != vhdx.ExtentData
	oldHole := p.oldGone || p.old.Kind != vhdx.ExtentData
	if srcHole || oldHole {
		return srcHole && oldHole
	}
	a, b := layerOf(d.j.src, p.src), layerOf(d.j.opt.Base, p.old)
	return a != nil && b != nil && (a == b || (a.Name != "" && filepath.Clean(a.Name) == filepath.Clean(b.Name)))
}

func layerOf(img vhdx.Image, e vhdx.Extent) *vhdx.Disk {
	c, ok := img.(*vhdx.Chain)
	if !ok || e.Layer < 0 || e.Layer >= len(c.Layers) {
		return nil
	}
	return c.Layers[e.Layer]
}

// compare reads [from, to) (widened to whole sectors) from both images
// and writes the source's sectors that differ.
func (d *differ) compare(from, to int64) error {
	from = from / d.ss * d.ss
	to = min((to+d.ss-1)/d.ss*d.ss, d.j.src.Size())
	for pos := from; pos < to; {
		n := min(int64(len(d.a)), to-pos)
		a, b := d.a[:n], d.b[:n]
		if err := readFull(d.j.src, a, pos); err != nil {
			return err
		}
		if err := d.readBase(b, pos); err != nil {
			return err
		}
		if err := d.writeDiffering(a, b, pos); err != nil {
			return err
		}
		pos += n
	}
	return nil
}

// readBase reads the base, zeros past its end.
func (d *differ) readBase(p []byte, off int64) error {
	base := d.j.opt.Base
	in := max(0, min(int64(len(p)), base.Size()-off))
	clear(p[in:])
	if in == 0 {
		return nil
	}
	if err := readFull(base, p[:in], off); err != nil {
		return fmt.Errorf("base: %w", err)
	}
	return nil
}

// writeDiffering writes the runs of sectors where a differs from b.
func (d *differ) writeDiffering(a, b []byte, pos int64) error {
	ss := int(d.ss)
	run := -1
	flush := func(end int) error {
		if run < 0 {
			return nil
		}
		if _, err := d.w.WriteAt(a[run:end], pos+int64(run)); err != nil {
			return err
		}
		d.j.res.DataBytes += int64(end - run)
		run = -1
		return nil
	}
	for s := 0; s < len(a); s += ss {
		e := min(s+ss, len(a))
		if bytes.Equal(a[s:e], b[s:e]) {
			if err := flush(s); err != nil {
				return err
			}
		} else if run < 0 {
			run = s
		}
	}
	return flush(len(a))
}
