package merge

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testchain"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// bigBase is a chain whose base holds much more than its children: the
// first checkpoint's deletion folds the child into the base.
var bigBase = testchain.Spec{Name: "big", Size: 24 << 20, BlockSize: 4 << 20, DiffBlock: 1 << 20, SectorSize: 512,
	Layers: 4, Writes: 3, LayerWrites: []int{30}, Seed: 21}

func planOf(t *testing.T, dir, name string) *Plan {
	t.Helper()
	cat, err := catalog.Open(dir, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	p, err := New(cat, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMergeAbsorbFirst deletes the first checkpoint of a chain with a
// big base: the child is folded into the base, which takes its name and
// identity. The survivors read as before (our reader, qemu-img for the
// new base), the other files are untouched, and the plan says why.
func TestMergeAbsorbFirst(t *testing.T) {
	dir := t.TempDir()
	g := testchain.Build(t, dir, bigBase)
	want := expectAll(g)
	before := fileHashes(t, dir, g.Files[0], g.Files[1])
	p := planOf(t, dir, stem(g.Files[0]))
	s := p.Steps[0]
	if !s.Absorb || s.AbsorbBytes <= 0 || s.AbsorbBytes >= s.FoldBytes || s.CopyBytes != s.AbsorbBytes {
		t.Fatalf("step %+v", s)
	}
	text, d := p.Describe()
	if sd := d.Steps[0]; sd.Direction != "into_parent" || sd.Into != g.Files[1] || sd.Remove != g.Files[0] {
		t.Fatalf("description %+v", sd)
	}
	for _, n := range []int64{s.AbsorbBytes, s.FoldBytes} {
		if !strings.Contains(text, fmt.Sprint(n)) {
			t.Fatalf("text does not give %d:\n%s", n, text)
		}
	}
	rep, err := p.Execute(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Copied != s.CopyBytes || len(rep.Changed) != 1 || rep.Changed[0] != g.Files[1] {
		t.Fatalf("report %+v", rep)
	}
	delete(want, g.Files[0])
	checkSurvivors(t, dir, want, "after folding the child into the base")
	if got := fileHashes(t, dir, g.Files[0], g.Files[1]); !maps.Equal(got, before) {
		t.Fatal("other files changed")
	}
	if c := testchain.Open(t, g.Files[1]); len(c.Layers) != 1 {
		t.Fatalf("new base has %d layers", len(c.Layers))
	}
	checkQemu(t, g.Files[1], want[g.Files[1]])
}

// TestMergeAbsorbLibvhdi reads the survivors of both absorb shapes
// (first checkpoint, middle checkpoint) through libvhdi.
func TestMergeAbsorbLibvhdi(t *testing.T) {
	for _, x := range []int{0, 1} {
		s := bigBase
		s.NoZero = true
		if x == 1 {
			s.LayerWrites = []int{3, 30}
		}
		dir := t.TempDir()
		g := testchain.Build(t, dir, s)
		p, _ := runMerge(t, dir, stem(g.Files[x]), 0)
		if !p.Steps[0].Absorb {
			t.Fatalf("deleting %d: the usual direction was chosen: %s", x, p.Steps[0].Why)
		}
		for i := x + 1; i < len(g.Files); i++ {
			b, err := os.ReadFile(testutil.VhdiMount(t, g.Files[i], i))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, g.States[i]) {
				t.Fatalf("libvhdi reads %s differently after deleting checkpoint %d", filepath.Base(g.Files[i]), x)
			}
		}
	}
}

// TestMergeAbsorbUnsafe falls back to the usual direction when the
// checkpoint's file has another name (a hard link would see the change).
func TestMergeAbsorbUnsafe(t *testing.T) {
	dir := t.TempDir()
	g := testchain.Build(t, dir, bigBase)
	if err := os.Link(g.Files[0], filepath.Join(t.TempDir(), "other.vhdx")); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	p := planOf(t, dir, stem(g.Files[0]))
	if s := p.Steps[0]; s.Absorb || !strings.Contains(s.Why, "not safe") || s.CopyBytes != s.FoldBytes {
		t.Fatalf("step %+v", s)
	}
	if _, err := p.Execute(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	want := expect{}
	for i, f := range g.Files[1:] {
		want[f] = g.States[i+1]
	}
	checkSurvivors(t, dir, want, "after the usual fold")
}
