package merge

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testchain"
)

// TestMergeSubtree deletes a checkpoint and everything under it: the live
// disk keeps its content and is linked to the base.
func TestMergeSubtree(t *testing.T) {
	dir := t.TempDir()
	g := testchain.Build(t, dir, spec)
	cat, err := catalog.Open(dir, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewSubtree(cat, stem(g.Files[1]))
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Steps) != 2 || p.Steps[0].Remove != g.Files[2] || p.Steps[1].Remove != g.Files[1] {
		t.Fatalf("steps %+v %+v", p.Steps[0], p.Steps[1])
	}
	if _, err := p.Execute(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	checkSurvivors(t, dir, expect{g.Files[0]: g.States[0], g.Files[3]: g.States[3]}, "after deleting the subtree")
	if c := testchain.Open(t, g.Files[3]); len(c.Layers) != 2 {
		t.Fatalf("live chain has %d layers", len(c.Layers))
	}
}

// TestMergeSubtreeAmbiguous refuses a subtree with two live leaves.
func TestMergeSubtreeAmbiguous(t *testing.T) {
	dir := t.TempDir()
	g := testchain.Build(t, dir, spec)
	mkChild(t, g.Files[1], filepath.Join(dir, "web01_branch.avhdx"))
	cat, err := catalog.Open(dir, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if _, err := NewSubtree(cat, stem(g.Files[1])); !errors.Is(err, ErrRefused) {
		t.Fatalf("got %v", err)
	}
	if _, err := NewSubtree(cat, "Now-"+stem(g.Files[3])); !errors.Is(err, ErrRefused) {
		t.Fatalf("live: got %v", err)
	}
}
