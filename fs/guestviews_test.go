//go:build linux

package fs

import (
	"bytes"
	"io"
	iofs "io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/ntfs"
	"github.com/ckptfs/ckptfs/vhdx"
)

// vhdxOf writes a raw image into a dynamic VHDX with small blocks and
// opens it as a chain, so reads can be answered with views.
func vhdxOf(t *testing.T, raw []byte) *vhdx.Chain {
	t.Helper()
	name := filepath.Join(t.TempDir(), "disk.vhdx")
	w, err := vhdx.Create(name, vhdx.CreateOptions{VirtualSize: int64(len(raw)), BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(raw); off += 1 << 20 {
		p := raw[off:min(off+1<<20, len(raw))]
		if !bytes.Equal(p, make([]byte, len(p))) {
			if _, err := w.WriteAt(p, int64(off)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := vhdx.OpenChain(name, vhdx.ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, d := range c.Layers {
			d.Close()
		}
	})
	return c
}

// TestFileViews compares the views of NTFS files with what the NTFS reader
// reads, over random ranges of every regular file of the test volume.
func TestFileViews(t *testing.T) {
	raw, err := os.ReadFile(ntfsImage(t))
	if err != nil {
		t.Fatal(err)
	}
	c := vhdxOf(t, raw)
	vols, err := guest.Volumes(c, c.Size(), "Disk0")
	if err != nil || len(vols) != 1 {
		t.Fatalf("volumes: %v (%d)", err, len(vols))
	}
	nv, ok := vols[0].FS.(*ntfs.Volume)
	if !ok {
		t.Fatalf("volume is %T", vols[0].FS)
	}
	rng := rand.New(rand.NewSource(3))
	viewed := 0
	err = iofs.WalkDir(nv, ".", func(p string, d iofs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		f, err := nv.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		nf := f.(*ntfs.File)
		fv := newFileViews(c, vols[0].Start, nf)
		if fv == nil {
			return nil
		}
		viewed++
		for k := 0; k < 8; k++ {
			off := rng.Int63n(fv.size + 1)
			n := 1 + rng.Intn(300000)
			views, ok := fv.views(off, n)
			if !ok {
				continue
			}
			want := make([]byte, max(0, min(int64(n), fv.size-off)))
			if _, err := nf.ReadAt(want, off); err != nil && err != io.EOF {
				t.Fatalf("%s: ReadAt %d+%d: %v", p, off, len(want), err)
			}
			if got := bytes.Join(views, nil); !bytes.Equal(got, want) {
				t.Fatalf("%s: views of %d+%d differ from ReadAt (%d vs %d bytes)", p, off, n, len(got), len(want))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if viewed < 5 {
		t.Fatalf("only %d files could be viewed", viewed)
	}
	t.Logf("%d files viewed", viewed)
}
