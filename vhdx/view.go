package vhdx

// Views serve a FUSE read without copying the disk's bytes: the answer is
// a list of slices of the layer files' read-only mappings (and of a shared
// zero buffer) that the server hands to writev, so the kernel copies each
// byte once, from the page cache into the reader's buffer. Through
// ReadAt each byte is copied twice, into our buffer and then out of it.

// maxViews bounds the pieces of one answer: writev takes at most 1024, and
// a read cut into hundreds of pieces gains nothing from avoiding a copy.
const maxViews = 128

// zeroView is the source of zero pieces; nobody writes it.
var zeroView = make([]byte, 1<<20)

// Views returns the bytes of [off, off+n), clipped to the disk, as slices
// that must not be written and stay valid until the layers are closed.
// ok is false when some part cannot be viewed (a layer not mapped, a log
// replayed in memory, a damaged block, too many pieces): then ReadAt must
// be used, which also reports any error.
func (c *Chain) Views(off int64, n int) (views [][]byte, ok bool) {
	if off < 0 || n < 0 {
		return nil, false
	}
	if off >= c.size || n == 0 {
		return nil, true
	}
	end := min(off+int64(n), c.size)
	for pos := off; pos < end; {
		u := pos >> c.unitShift
		within := pos - u<<c.unitShift
		l := min(int64(1)<<c.unitShift-within, end-pos)
		if views, ok = c.unitViews(views, u, within, l); !ok || len(views) > maxViews {
			return nil, false
		}
		pos += l
	}
	c.readAheadFor(off, end-off)
	return views, true
}

// unitViews appends the pieces of [within, within+n) of unit u.
func (c *Chain) unitViews(views [][]byte, u, within, n int64) ([][]byte, bool) {
	ref := unitRef(c.units.get(u))
	switch ref.kind() {
	case unitAbsent, unitZero:
		return AppendZeroViews(views, n), true
	case unitData:
		return c.appendFile(views, ref.layer(), ref.value()<<9+within, n)
	case unitInvalid:
		return views, false
	}
	runs, err := c.runsOf(u)
	if err != nil {
		return views, false
	}
	end := within + n
	for _, r := range runs.find(within) {
		if r.start >= end {
			break
		}
		from, to := max(r.start, within), min(r.end, end)
		var ok bool
		switch r.kind {
		case unitData:
			views, ok = c.appendFile(views, r.layer, r.fileOff+(from-r.start), to-from)
		case unitInvalid:
			ok = false
		default:
			views, ok = AppendZeroViews(views, to-from), true
		}
		if !ok {
			return views, false
		}
	}
	return views, true
}

func (c *Chain) appendFile(views [][]byte, layer int, off, n int64) ([][]byte, bool) {
	m := c.Layers[layer].mapped()
	if off < 0 || off+n > int64(len(m)) {
		return views, false // also a block past the end of a cut-short file: ReadAt says so
	}
	return append(views, m[off:off+n:off+n]), true
}

// AppendZeroViews appends views of n zero bytes, for callers that answer
// holes of their own (a sparse guest file) next to Views.
func AppendZeroViews(views [][]byte, n int64) [][]byte {
	for n > 0 {
		k := min(n, int64(len(zeroView)))
		views = append(views, zeroView[:k:k])
		n -= k
	}
	return views
}
