//go:build linux

package fs

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/vhdx"
	gofs "github.com/hanwen/go-fuse/v2/fs"
)

// memImage is a disk held in memory with chosen extents, standing in for a
// vhdx.Chain. Bytes in [badOff, badOff+badLen) fail to read with a format
// error, as a corrupt block would.
type memImage struct {
	data           []byte
	exts           []vhdx.Extent
	badOff, badLen int64
}

var _ vhdx.Image = (*memImage)(nil)

// newMemImage makes an image of the given extents (which must tile
// [0, size)); data extents hold a pattern that tells offsets apart, holes
// hold zeros.
func newMemImage(exts ...vhdx.Extent) *memImage {
	size := exts[len(exts)-1].End()
	m := &memImage{data: make([]byte, size), exts: exts}
	for _, e := range exts {
		if e.Kind != vhdx.ExtentData {
			continue
		}
		for i := e.Off; i < e.End(); i++ {
			m.data[i] = byte(i/512) ^ byte(i) | 1 // never zero
		}
	}
	return m
}

func (m *memImage) Size() int64 { return int64(len(m.data)) }

func (m *memImage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset")
	}
	if m.badLen > 0 && off < m.badOff+m.badLen && off+int64(len(p)) > m.badOff {
		return 0, &vhdx.FormatError{Off: m.badOff, What: "test corruption"}
	}
	if off >= m.Size() {
		return 0, io.EOF
	}
	n := copy(p, m.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memImage) Extents(off, n int64) ([]vhdx.Extent, error) {
	end := min(off+n, m.Size())
	var out []vhdx.Extent
	for _, e := range m.exts {
		lo, hi := max(e.Off, off), min(e.End(), end)
		if lo < hi {
			out = append(out, vhdx.Extent{Off: lo, Len: hi - lo, Kind: e.Kind, Layer: e.Layer})
		}
	}
	return out, nil
}

// ext is shorthand for an extent in KiB.
func ext(offK, lenK int64, kind vhdx.ExtentKind) vhdx.Extent {
	layer := 0
	if kind == vhdx.ExtentAbsent {
		layer = -1
	}
	return vhdx.Extent{Off: offK << 10, Len: lenK << 10, Kind: kind, Layer: layer}
}

// testCatalog is one VM with three checkpoints (Base, Before update, Now),
// each with disk Disk0, and the images behind them.
type testCatalog struct {
	cat    *catalog.Catalog
	images map[*catalog.Disk]vhdx.Image
	t1, t2 time.Time
}

func newTestCatalog() *testCatalog {
	tc := &testCatalog{images: map[*catalog.Disk]vhdx.Image{},
		t1: time.Date(2026, 11, 20, 10, 15, 0, 0, time.UTC),
		t2: time.Date(2026, 11, 21, 8, 0, 30, 0, time.UTC)}
	vm := &catalog.VM{Name: "web01", ID: "vm-1"}
	base := &catalog.Checkpoint{Name: "Base", ID: "id-base", Created: tc.t1}
	before := &catalog.Checkpoint{Name: "Before update", ID: "id-before", Created: tc.t2, Parent: base}
	now := &catalog.Checkpoint{Name: "Now", ID: "id-now", Parent: before, Live: true}
	for i, c := range []*catalog.Checkpoint{base, before, now} {
		d := &catalog.Disk{Name: "Disk0", File: fmt.Sprintf("/src/Disk0_%d.avhdx", i)}
		c.Disks = []*catalog.Disk{d}
		tc.images[d] = newMemImage(
			ext(0, 64, vhdx.ExtentData),
			ext(64, 64, vhdx.ExtentAbsent),
			ext(128, 32, vhdx.ExtentData),
			ext(160, 32, vhdx.ExtentZero),
			ext(192, 64, vhdx.ExtentData),
			ext(256, 256, vhdx.ExtentAbsent))
		vm.Checkpoints = append(vm.Checkpoints, c)
	}
	tc.cat = &catalog.Catalog{Source: "/src", VMs: []*catalog.VM{vm}}
	return tc
}

func (tc *testCatalog) image(d *catalog.Disk) (vhdx.Image, error) {
	img, ok := tc.images[d]
	if !ok {
		return nil, fmt.Errorf("no image for %s", d.Name)
	}
	return img, nil
}

// noVolumes finds no volumes on any disk.
func noVolumes(io.ReaderAt, int64, string) ([]*guest.Volume, error) { return nil, nil }

// bridged builds the tree as go-fuse would when mounting, so node
// methods can be called directly.
func bridged(t *testing.T, r *Root) *Root {
	t.Helper()
	gofs.NewNodeFS(r, NodeOptions())
	return r
}

// walk follows names through the children built so far.
func walk(t *testing.T, n *gofs.Inode, names ...string) *gofs.Inode {
	t.Helper()
	for _, name := range names {
		ch := n.GetChild(name)
		if ch == nil {
			t.Fatalf("no %q under %q; have %v", name, n.Path(nil), slices.Sorted(maps.Keys(n.Children())))
		}
		n = ch
	}
	return n
}
