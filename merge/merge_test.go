package merge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testchain"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

var spec = testchain.Spec{Name: "web01", Size: 24 << 20, BlockSize: 4 << 20, DiffBlock: 1 << 20, SectorSize: 512, Layers: 4, Writes: 8, Seed: 11}

func stem(p string) string {
	b := filepath.Base(p)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// expect maps each surviving disk file to the content its chain must read.
type expect map[string][]byte

func expectAll(g testchain.Chain) expect {
	e := expect{}
	for i, f := range g.Files {
		e[f] = g.States[i]
	}
	return e
}

// checkSurvivors opens every expected file's chain (vhdx.OpenChain replays
// logs in memory) and compares its content; no other disk file may exist.
func checkSurvivors(t *testing.T, dir string, want expect, what string) {
	t.Helper()
	for f, content := range want {
		got := readImage(t, testchain.Open(t, f))
		if !bytes.Equal(got, content) {
			t.Fatalf("%s: %s reads other content", what, filepath.Base(f))
		}
	}
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), "vhdx") && !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	if n != len(want) {
		t.Fatalf("%s: %d disk files in the folder, want %d", what, n, len(want))
	}
}

func runMerge(t *testing.T, dir, name string, batch int) (*Plan, *Report) {
	t.Helper()
	return runMergeFold(t, dir, name, batch, false)
}

// runMergeFold merges, in the usual direction when fold is set.
func runMergeFold(t *testing.T, dir, name string, batch int, fold bool) (*Plan, *Report) {
	t.Helper()
	cat, err := catalog.Open(dir, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	p, err := New(cat, name)
	if err != nil {
		t.Fatal(err)
	}
	p.BatchPages = batch
	if fold {
		for _, s := range p.Steps {
			s.forceFold()
		}
	}
	rep, err := p.Execute(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, rep
}

// TestMergeMiddleFirstLast deletes a middle, the first and then the last
// frozen checkpoint; all others read as before after each.
func TestMergeMiddleFirstLast(t *testing.T) {
	dir := t.TempDir()
	g := testchain.Build(t, dir, spec)
	want := expectAll(g)
	// middle: files[1] folds into files[2]
	p, rep := runMerge(t, dir, stem(g.Files[1]), 0)
	delete(want, g.Files[1])
	checkSurvivors(t, dir, want, "after deleting the middle checkpoint")
	if len(rep.Removed) != 1 || rep.Removed[0] != g.Files[1] || rep.Changed[0] != g.Files[2] || p.Steps[0].NewParent != g.Files[0] {
		t.Fatalf("report %+v, plan %+v", rep, p.Steps[0])
	}
	// first: the base folds into files[2], which becomes the base
	runMerge(t, dir, stem(g.Files[0]), 0)
	delete(want, g.Files[0])
	checkSurvivors(t, dir, want, "after deleting the first checkpoint")
	if c := testchain.Open(t, g.Files[2]); len(c.Layers) != 1 {
		t.Fatalf("new base has %d layers", len(c.Layers))
	}
	checkQemu(t, g.Files[2], want[g.Files[2]])
	// last frozen: files[2] folds into the live leaf files[3]
	runMerge(t, dir, stem(g.Files[2]), 0)
	delete(want, g.Files[2])
	checkSurvivors(t, dir, want, "after deleting the last checkpoint")
	checkQemu(t, g.Files[3], want[g.Files[3]])
}

// checkQemu runs qemu-img check on a base disk and compares its raw view.
func checkQemu(t *testing.T, path string, want []byte) {
	t.Helper()
	testutil.NeedTool(t, "qemu-img")
	testutil.Run(t, "qemu-img", "check", "-f", "vhdx", path)
	raw := filepath.Join(t.TempDir(), "q.raw")
	testutil.Run(t, "qemu-img", "convert", "-f", "vhdx", "-O", "raw", path, raw)
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("qemu-img reads %s differently", filepath.Base(path))
	}
}

// TestMergeLibvhdi reads the survivors of a middle merge through libvhdi.
func TestMergeLibvhdi(t *testing.T) {
	dir := t.TempDir()
	s := spec
	s.NoZero = true
	g := testchain.Build(t, dir, s)
	runMerge(t, dir, stem(g.Files[1]), 0)
	for i, layers := range map[int]int{2: 2, 3: 3} {
		b, err := os.ReadFile(testutil.VhdiMount(t, g.Files[i], layers))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, g.States[i]) {
			t.Fatalf("libvhdi reads %s differently after the merge", filepath.Base(g.Files[i]))
		}
	}
}

// TestMergeRefuses covers the refusals: live state, several children,
// a file locked by a mount.
func TestMergeRefuses(t *testing.T) {
	dir := t.TempDir()
	g := testchain.Build(t, dir, spec)
	cat, err := catalog.Open(dir, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(cat, "Now"); !errors.Is(err, ErrRefused) {
		t.Errorf("live state: got %v", err)
	}
	p, err := New(cat, stem(g.Files[1]))
	if err != nil {
		t.Fatal(err)
	}
	cat.Close()
	f, err := os.Open(g.Files[2])
	if err != nil {
		t.Fatal(err)
	}
	if err := lockShared(f); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Execute(context.Background(), nil); !errors.Is(err, ErrLocked) {
		t.Errorf("locked child: got %v", err)
	}
	f.Close()
	checkSurvivors(t, dir, expectAll(g), "after the refused merge")
	// a second child of files[1] makes it a branch point
	branch := filepath.Join(dir, "web01_branch.avhdx")
	mkChild(t, g.Files[1], branch)
	if cat, err = catalog.Open(dir, catalog.Options{}); err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if _, err := New(cat, stem(g.Files[1])); !errors.Is(err, ErrRefused) {
		t.Errorf("several children: got %v", err)
	}
}

// TestMergeDescribe checks the dry-run text and struct.
func TestMergeDescribe(t *testing.T) {
	dir := t.TempDir()
	g := testchain.Build(t, dir, spec)
	cat, err := catalog.Open(dir, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	p, err := New(cat, stem(g.Files[1]))
	if err != nil {
		t.Fatal(err)
	}
	text, d := p.Describe()
	if len(d.Removed) != 1 || d.Removed[0] != g.Files[1] || d.Changed[0] != g.Files[2] || d.CopyBytes <= 0 {
		t.Fatalf("description %+v", d)
	}
	if !strings.Contains(text, filepath.Base(g.Files[1])) || !strings.Contains(text, fmt.Sprint(d.CopyBytes)) {
		t.Fatalf("text:\n%s", text)
	}
}
