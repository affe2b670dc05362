package vhdx

import (
	"bytes"
	"math/rand"
	"runtime"
	"testing"
)

// TestViews checks that the views of random ranges of generated chains
// hold the bytes ReadAt reads.
func TestViews(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("views need mmap, which ckptfs uses on Linux only")
	}
	for _, s := range chainSpecs[:3] {
		t.Run(s.name, func(t *testing.T) {
			g := buildChain(t, t.TempDir(), s)
			c, err := OpenChain(g.files[len(g.files)-1], ChainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := g.states[len(g.states)-1]
			rng := rand.New(rand.NewSource(9))
			for k := 0; k < 300; k++ {
				off := rng.Int63n(c.Size() + 4096)
				n := 1 + rng.Intn(2<<20)
				if k%3 == 0 {
					n = 4096
					off = off &^ 4095
				}
				views, ok := c.Views(off, n)
				if !ok {
					continue // too many pieces: the caller reads instead
				}
				got := bytes.Join(views, nil)
				lo, hi := min(off, c.Size()), min(off+int64(n), c.Size())
				if !bytes.Equal(got, want[lo:hi]) {
					t.Fatalf("views of %d+%d: %d bytes, differ from the model (first mismatch %d)", off, n, len(got), firstMismatch(got, want[lo:hi]))
				}
				if len(views) > maxViews {
					t.Fatalf("%d views", len(views))
				}
			}
			// A sector is one view.
			if views, ok := c.Views(0, 512); !ok || len(views) != 1 {
				t.Errorf("views of the first sector: %d, ok %v", len(views), ok)
			}
			exts, err := c.Extents(0, c.Size())
			if err != nil {
				t.Fatal(err)
			}
			var data *Extent
			for i := range exts {
				if exts[i].Kind == ExtentData {
					data = &exts[i]
					break
				}
			}
			if data == nil {
				t.Fatal("no data extent")
			}
			for _, d := range c.Layers {
				d.Close()
			}
			if _, ok := c.Views(data.Off, 512); ok {
				t.Error("views of data after the layers were closed")
			}
		})
	}
}

// TestViewsRefusedWithReplayedLog: a disk whose log was replayed in
// memory differs from its file, so it must be read, not viewed.
func TestViewsRefusedWithReplayedLog(t *testing.T) {
	d := &Disk{LogReplayed: true, FileSize: 1 << 20}
	if d.mapped() != nil {
		t.Error("a disk with a replayed log was mapped")
	}
}

// TestHeldViewsLocal: a chain of local files lends nothing through
// HeldViews (Views serves it, without releases); the remote package tests
// the lending.
func TestHeldViewsLocal(t *testing.T) {
	g := buildChain(t, t.TempDir(), chainSpecs[0])
	c, err := OpenChain(g.files[len(g.files)-1], ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if views, release, ok, err := c.HeldViews(0, 1<<20); ok || err != nil || views != nil || release != nil {
		t.Errorf("a local chain lent %d views (ok %v, err %v)", len(views), ok, err)
	}
	if _, ok := c.Views(0, 1<<20); !ok {
		t.Error("no views of a local chain")
	}
}
