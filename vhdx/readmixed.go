package vhdx

import "sync"

// layerSpan is the part of one layer's block that a read of a mixed unit
// needs: from the first to the last of that layer's runs.
type layerSpan struct {
	layer    int
	from, to int64 // offsets inside the unit
	base     int64 // file offset of unit offset 0 in this layer
	runs     int
	data     []byte
}

// maxSpanRead bounds the bytes read in one go for one layer; a read of a
// whole 256 MiB unit falls back to one read per run.
const maxSpanRead = 4 << 20

var spanBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// readMixed fills p with the unit's bytes from offset within. A layer
// that owns several runs of the window is read with one pread over their
// span instead of one per run: the sectors between belong to other layers
// but in a differencing file they are mostly holes, so the larger read
// costs little, while many small reads of a cold file each wait for the disk.
func (c *Chain) readMixed(p []byte, u, within int64, runs runList) error {
	end := within + int64(len(p))
	var spanBuf [8]layerSpan // a read rarely touches more layers; avoids a heap slice per read
	spans := spanBuf[:0]
	window := runs.find(within)
	for _, r := range window {
		if r.start >= end {
			break
		}
		if r.kind != unitData {
			continue
		}
		from, to := max(r.start, within), min(r.end, end)
		i := 0
		for i < len(spans) && spans[i].layer != r.layer {
			i++
		}
		if i == len(spans) {
			spans = append(spans, layerSpan{layer: r.layer, from: from, to: to, base: r.fileOff - r.start})
		}
		spans[i].to = to
		spans[i].runs++
	}
	for i := range spans {
		s := &spans[i]
		if s.runs < 2 || s.to-s.from > maxSpanRead {
			continue
		}
		n := s.to - s.from
		var bp *[]byte
		if n <= 1<<20 {
			bp = spanBufs.Get().(*[]byte)
			defer spanBufs.Put(bp)
			s.data = (*bp)[:n]
		} else {
			s.data = make([]byte, n)
		}
		if err := c.readLayer(s.layer, s.data, s.base+s.from); err != nil {
			return err
		}
	}
	for _, r := range window {
		if r.start >= end {
			break
		}
		from, to := max(r.start, within), min(r.end, end)
		dst := p[from-within : to-within]
		switch r.kind {
		case unitData:
			if s := spanOf(spans, r.layer); s != nil && s.data != nil {
				copy(dst, s.data[from-s.from:])
			} else if err := c.readLayer(r.layer, dst, r.fileOff+(from-r.start)); err != nil {
				return err
			}
		case unitInvalid:
			return c.invalid(r.layer, u)
		default:
			clear(dst)
		}
	}
	return nil
}

func spanOf(spans []layerSpan, layer int) *layerSpan {
	for i := range spans {
		if spans[i].layer == layer {
			return &spans[i]
		}
	}
	return nil
}
