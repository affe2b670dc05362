//go:build linux

package fs

import (
	"bytes"
	"io"
	iofs "io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/testutil"
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

// TestFileViews compares the views of guest files with what their
// filesystem reader reads, over random ranges of every regular file: NTFS,
// FAT and ISO 9660 from the generated images, ext4 (with holes and
// unwritten extents) and ext2 (block maps) made here.
func TestFileViews(t *testing.T) {
	images := map[string]string{"ntfs": ntfsImage(t)}
	guestImages := testutil.GuestImages(t)
	for _, name := range []string{"bare-fat16.img", "cd.iso"} {
		images[name] = filepath.Join(guestImages, name)
	}
	tree := t.TempDir()
	rng := rand.New(rand.NewSource(3))
	for name, n := range map[string]int{"small": 3000, "big": 3<<20 + 77, "d/mid": 200000} {
		b := make([]byte, n)
		rng.Read(b)
		os.MkdirAll(filepath.Join(tree, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(tree, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sparse, err := os.Create(filepath.Join(tree, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	sparse.WriteAt(bytes.Repeat([]byte{7}, 5000), 1<<20)
	sparse.Truncate(3 << 20)
	// An unwritten extent: allocated, never written, reads as zeros.
	syscall.Fallocate(int(sparse.Fd()), 0, 2<<20, 1<<20)
	sparse.Close()
	for _, kind := range []string{"ext4", "ext2"} {
		img := filepath.Join(t.TempDir(), kind+".img")
		testutil.Run(t, testutil.NeedTool(t, "mke2fs"), "-q", "-F", "-t", kind, "-d", tree, img, "16M")
		images[kind] = img
	}
	for name, path := range images {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkFileViews(t, raw, rng)
		})
	}
}

func checkFileViews(t *testing.T, raw []byte, rng *rand.Rand) {
	c := vhdxOf(t, raw)
	vols, err := guest.Volumes(c, c.Size(), "Disk0")
	if err != nil || len(vols) != 1 || vols[0].FS == nil {
		t.Fatalf("volumes: %v (%d)", err, len(vols))
	}
	fsys := vols[0].FS
	viewed := 0
	err = iofs.WalkDir(fsys, ".", func(p string, d iofs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		f, err := fsys.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		m, ok := f.(guest.ExtentMapper)
		if !ok {
			t.Fatalf("%s: a %T cannot map its extents", p, f)
		}
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		fv := newFileViews(c, vols[0].Start, m, st.Size())
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
			if _, err := f.(io.ReaderAt).ReadAt(want, off); err != nil && err != io.EOF {
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
	if viewed < 2 {
		t.Fatalf("only %d files could be viewed", viewed)
	}
	t.Logf("%d files viewed", viewed)
}
