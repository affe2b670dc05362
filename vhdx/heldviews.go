package vhdx

import "fmt"

// Held views: Views for chains whose layers include remote objects, whose
// bytes live in memory blocks that may be dropped or reused once nobody
// holds them. A view of such a layer holds its blocks until the caller
// releases them.

// BlockViewer is a layer file whose bytes are in memory blocks a reader
// can borrow instead of copying (a remote object): ViewAt appends the
// bytes of [off, off+n) to views as slices of its blocks, waiting for any
// still on their way, and returns a release giving them back; until it is
// called the slices stay valid and unchanged. On an error it holds
// nothing.
type BlockViewer interface {
	ViewAt(views [][]byte, off, n int64) ([][]byte, func(), error)
}

// HeldViews returns the bytes of [off, off+n), clipped to the disk, as
// slices of mapped layer files, of the memory blocks of layers that are
// BlockViewers, and of zeros, like Views, for a chain with some layer a
// BlockViewer (else ok is false: use Views); release must be called once the
// slices are no longer used (it is never nil when ok). ok is false when
// some part cannot be viewed, as for Views; then nothing is held and
// ReadAt must be used. err is a layer's failure to read (a request that
// failed), with ok false.
func (c *Chain) HeldViews(off int64, n int) (views [][]byte, release func(), ok bool, err error) {
	if off < 0 || n < 0 {
		return nil, nil, false, nil
	}
	if off >= c.size || n == 0 {
		return nil, func() {}, true, nil
	}
	if !c.lends() {
		// All local: Views does the same without the releases, and a
		// reader of local layers through a pipe is no faster with views
		// of the mappings than with pread (a 4-layer cat took a fifth more
		// CPU: the mappings' page faults, the mixed units' many pieces).
		return nil, nil, false, nil
	}
	end := min(off+int64(n), c.size)
	// The read-ahead first: a viewer waits for its blocks, and the next
	// stretch should be on its way meanwhile.
	c.readAheadFor(off, end-off)
	var rel []func()
	release = func() {
		for _, r := range rel {
			r()
		}
	}
	for pos := off; pos < end; {
		u := pos >> c.unitShift
		within := pos - u<<c.unitShift
		l := min(int64(1)<<c.unitShift-within, end-pos)
		views, ok, err = c.heldUnitViews(views, &rel, u, within, l)
		if !ok || len(views) > maxViews {
			release()
			return nil, nil, false, err
		}
		pos += l
	}
	return views, release, true, nil
}

// lends says whether some layer is a BlockViewer.
func (c *Chain) lends() bool {
	for _, d := range c.Layers {
		if _, ok := d.hint.(BlockViewer); ok {
			return true
		}
	}
	return false
}

// heldUnitViews is unitViews with viewer layers, whose releases it
// appends to rel.
func (c *Chain) heldUnitViews(views [][]byte, rel *[]func(), u, within, n int64) ([][]byte, bool, error) {
	ref := unitRef(c.units.get(u))
	switch ref.kind() {
	case unitAbsent, unitZero:
		return AppendZeroViews(views, n), true, nil
	case unitData:
		return c.appendHeld(views, rel, ref.layer(), ref.value()<<9+within, n)
	case unitInvalid:
		return views, false, nil
	}
	runs, err := c.runsOf(u)
	if err != nil {
		return views, false, nil // ReadAt says so
	}
	end := within + n
	for _, r := range runs.find(within) {
		if r.start >= end {
			break
		}
		from, to := max(r.start, within), min(r.end, end)
		ok := true
		switch r.kind {
		case unitData:
			views, ok, err = c.appendHeld(views, rel, r.layer, r.fileOff+(from-r.start), to-from)
		case unitInvalid:
			ok = false
		default:
			views = AppendZeroViews(views, to-from)
		}
		if !ok {
			return views, false, err
		}
	}
	return views, true, nil
}

// appendHeld appends a view of [off, off+n) of a layer file: of its
// mapping, or of its blocks when it is a BlockViewer read as is (no log
// replayed over it).
func (c *Chain) appendHeld(views [][]byte, rel *[]func(), layer int, off, n int64) ([][]byte, bool, error) {
	d := c.Layers[layer]
	if m := d.mapped(); m != nil {
		views, ok := c.appendFile(views, layer, off, n)
		return views, ok, nil
	}
	bv, isViewer := d.hint.(BlockViewer)
	if !isViewer || d.LogReplayed || off < 0 || off+n > d.FileSize {
		return views, false, nil
	}
	views, r, err := bv.ViewAt(views, off, n)
	if err != nil {
		return views, false, fmt.Errorf("%s: reading %d bytes at file offset 0x%x: %w", d.Name, n, off, err)
	}
	*rel = append(*rel, r)
	return views, true, nil
}
