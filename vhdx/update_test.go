package vhdx

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

var errStop = errors.New("stopped as by a crash")

// foldParent folds the parent of child into child: every sector child's
// chain takes from that parent is filled into child, then child is linked
// to the grandparent (or, without one, made a dynamic disk). It commits
// every batch pages and stops early when hook says so.
func foldParent(t *testing.T, child, parent string, batch int, hook func(string) error) error {
	t.Helper()
	c, err := OpenChain(child, ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	u, err := OpenUpdate(child)
	if err != nil {
		return err
	}
	defer u.Close()
	u.OnDurable = hook
	if len(c.Layers) < 2 || c.Layers[1].Name != parent {
		return nil // already folded
	}
	base := len(c.Layers) == 2
	bs := u.BlockSize()
	for off := int64(0); off < c.Size(); off += bs {
		ext, err := c.Extents(off, bs)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := c.Layers[0].BlockInfo(off / bs)
		needed := st == BlockPartial
		for _, e := range ext {
			needed = needed || e.Layer == 1 && e.Kind == ExtentData
		}
		for _, e := range ext {
			if e.Layer == 0 || (!base && e.Layer != 1) || (base && !needed) {
				continue
			}
			buf := make([]byte, e.Len)
			if e.Kind == ExtentData {
				if _, err := c.ReadAt(buf, e.Off); err != nil {
					t.Fatal(err)
				}
			}
			if err := u.Fill(buf, e.Off); err != nil {
				t.Fatal(err)
			}
		}
		if u.Pending() >= batch {
			if err := u.Commit(); err != nil {
				return err
			}
		}
	}
	if base {
		if err := u.ClearParent(); err != nil {
			t.Fatal(err)
		}
	} else if err := u.SetParent(c.Layers[2], c.Layers[2].Name); err != nil {
		t.Fatal(err)
	}
	return u.Commit()
}

func chainContent(t *testing.T, name string) ([]byte, int) {
	t.Helper()
	c, err := OpenChain(name, ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return readAll(t, c), len(c.Layers)
}

// TestUpdateFold folds a middle layer and a base into their children and
// checks every survivor reads as before; qemu-img checks the new base.
func TestUpdateFold(t *testing.T) {
	for _, s := range chainSpecs[:3] {
		t.Run(s.name, func(t *testing.T) {
			g := buildChain(t, t.TempDir(), s)
			files := g.files
			if err := foldParent(t, files[2], files[1], 40, nil); err != nil {
				t.Fatal(err)
			}
			got, layers := chainContent(t, files[2])
			mustEqualBytes(t, "child after folding its parent", got, g.states[2])
			if layers != 2 {
				t.Fatalf("chain of %d layers after the fold", layers)
			}
			if err := foldParent(t, files[2], files[0], 1<<20, nil); err != nil {
				t.Fatal(err)
			}
			got, layers = chainContent(t, files[2])
			mustEqualBytes(t, "child after folding the base", got, g.states[2])
			if layers != 1 {
				t.Fatalf("chain of %d layers after folding the base", layers)
			}
			for i := 3; i < len(files); i++ {
				got, _ := chainContent(t, files[i])
				mustEqualBytes(t, fmt.Sprintf("grandchild %d", i), got, g.states[i])
			}
			if s.sectorSize == 512 {
				testutil.NeedTool(t, "qemu-img")
				testutil.Run(t, "qemu-img", "check", "-f", "vhdx", files[2])
				mustEqualBytes(t, "qemu view of the new base", qemuToRaw(t, files[2], "vhdx"), g.states[2])
			}
		})
	}
}

// TestUpdateCrashPoints stops a fold after durable steps spread over the
// whole fold: the child always reads as before, and running the fold
// again finishes it.
func TestUpdateCrashPoints(t *testing.T) {
	s := chainSpec{name: "crash", size: 16 << 20, blockSize: 1 << 20, diffBlock: 1 << 20, sectorSize: 512, layers: 3, seed: 7, zeroBlocks: true, garbage: true}
	g := buildChain(t, t.TempDir(), s)
	for _, top := range []int{1, 2} { // fold the base, fold a middle layer
		parent := filepath.Base(g.files[top-1])
		steps := 0
		_, files := testutil.CopyFiles(t, g.files)
		if err := foldParent(t, files[top], files[top-1], 1, func(string) error { steps++; return nil }); err != nil {
			t.Fatal(err)
		}
		if steps < 20 {
			t.Fatalf("fold into %d has only %d durable steps", top, steps)
		}
		for i := 0; i < 12; i++ {
			k := 1 + i*(steps-1)/11
			_, files := testutil.CopyFiles(t, g.files)
			n := 0
			err := foldParent(t, files[top], files[top-1], 1, func(string) error {
				if n++; n == k {
					return errStop
				}
				return nil
			})
			if !errors.Is(err, errStop) {
				t.Fatalf("stop at %d of %d: %v", k, steps, err)
			}
			what := fmt.Sprintf("fold of %s stopped after step %d of %d", parent, k, steps)
			got, _ := chainContent(t, files[top])
			mustEqualBytes(t, what, got, g.states[top])
			if err := foldParent(t, files[top], files[top-1], 1, nil); err != nil {
				t.Fatal(err)
			}
			got, layers := chainContent(t, files[top])
			mustEqualBytes(t, what+", resumed", got, g.states[top])
			if layers != top {
				t.Fatalf("%s: resumed fold leaves %d layers", what, layers)
			}
		}
	}
}

// TestUpdateAppliesOldLog opens a file whose log was left active: the
// log is applied and the header cleared.
func TestUpdateAppliesOldLog(t *testing.T) {
	g := buildChain(t, t.TempDir(), chainSpecs[0])
	_, files := testutil.CopyFiles(t, g.files[:3])
	err := foldParent(t, files[2], files[1], 1<<20, func(step string) error {
		if step == "log active" {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("got %v", err)
	}
	d, err := OpenDisk(files[2])
	if err != nil {
		t.Fatal(err)
	}
	if !d.LogReplayed {
		t.Fatal("log not active after the stop")
	}
	d.Close()
	u, err := OpenUpdate(files[2])
	if err != nil {
		t.Fatal(err)
	}
	u.Close()
	if d, err = OpenDisk(files[2]); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.LogReplayed || !d.vhdx.header.LogGUID.IsZero() {
		t.Fatal("log still active after OpenUpdate")
	}
	got, layers := chainContent(t, files[2])
	mustEqualBytes(t, "after the old log was applied", got, g.states[2])
	if layers != 2 {
		t.Fatalf("%d layers", layers)
	}
}

// TestUpdateRefusesHeld refuses fills over sectors the file holds.
func TestUpdateRefusesHeld(t *testing.T) {
	s := chainSpecs[0]
	s.layers = 2
	g := buildChain(t, t.TempDir(), s)
	d, err := OpenDisk(g.files[1])
	if err != nil {
		t.Fatal(err)
	}
	var held int64 = -1
	for b := int64(0); b < d.Blocks(); b++ {
		if st, _ := d.BlockInfo(b); st == BlockPresent || st == BlockPartial {
			bm, _ := d.SectorBitmap(b)
			for i, v := range bm {
				if v != 0 {
					held = b*d.BlockSize + int64(i)*8*d.LogicalSectorSize
					break
				}
			}
			if held >= 0 {
				break
			}
		}
	}
	d.Close()
	u, err := OpenUpdate(g.files[1])
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if err := u.Fill(make([]byte, 8*512), held); !errors.Is(err, ErrHeld) {
		t.Fatalf("fill over held sectors at %d: %v", held, err)
	}
	if err := u.Fill(make([]byte, 100), 0); err == nil {
		t.Fatal("partial-sector fill accepted")
	}
}

// TestUpdateIdentity is what a merge folding a child into its parent
// does to the files: the child accepts a second parent identity
// (parent_linkage2, other locator keys kept), the parent takes that
// identity, and the chain still opens and reads as before. Overwrite
// and ZeroBlocks then change the parent's own content at once.
func TestUpdateIdentity(t *testing.T) {
	s := chainSpecs[0]
	s.layers = 2
	g := buildChain(t, t.TempDir(), s)
	_, files := testutil.CopyFiles(t, g.files)
	before, err := OpenDisk(files[1])
	if err != nil {
		t.Fatal(err)
	}
	before.Close()
	id := NewGUID()
	u, err := OpenUpdate(files[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := u.SetLinkage2(id); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	u.Close()
	if u, err = OpenUpdate(files[0]); err != nil {
		t.Fatal(err)
	}
	if err := u.SetDataWriteGUID(id); err != nil {
		t.Fatal(err)
	}
	u.Close()
	d, err := OpenDisk(files[1])
	if err != nil {
		t.Fatal(err)
	}
	loc := d.Parent
	d.Close()
	if loc.Linkage2 != id || loc.Linkage != before.Parent.Linkage || loc.RelativePath != before.Parent.RelativePath || loc.AbsolutePath != before.Parent.AbsolutePath {
		t.Fatalf("locator %+v, was %+v", loc, before.Parent)
	}
	got, layers := chainContent(t, files[1])
	mustEqualBytes(t, "child through the renamed parent", got, g.states[1])
	if layers != 2 {
		t.Fatalf("%d layers", layers)
	}
	// The parent's own content: overwrite a sector and zero the last block.
	if u, err = OpenUpdate(files[0]); err != nil {
		t.Fatal(err)
	}
	sec := bytes.Repeat([]byte{0xa5}, 512)
	bs := u.BlockSize()
	if err := u.Overwrite(sec, 512); err != nil {
		t.Fatal(err)
	}
	if err := u.ZeroBlocks(u.VirtualSize()-bs, bs); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	u.Close()
	want := append([]byte(nil), g.states[0]...)
	copy(want[512:], sec)
	clear(want[int64(len(want))-bs:])
	got, _ = chainContent(t, files[0])
	mustEqualBytes(t, "parent after Overwrite and ZeroBlocks", got, want)
	testutil.NeedTool(t, "qemu-img")
	testutil.Run(t, "qemu-img", "check", "-f", "vhdx", files[0])
	mustEqualBytes(t, "qemu view of the parent", qemuToRaw(t, files[0], "vhdx"), want)
}
