package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testchain"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

var specs = []testchain.Spec{
	{Name: "web01", Size: 64 << 20, BlockSize: 4 << 20, DiffBlock: 1 << 20, SectorSize: 512, Layers: 4, Writes: 10, Seed: 1},
	{Name: "odd", Size: 37<<20 + 7*512, BlockSize: 8 << 20, DiffBlock: 2 << 20, SectorSize: 512, Layers: 3, Writes: 8, Seed: 2},
	{Name: "k4", Size: 40 << 20, BlockSize: 2 << 20, DiffBlock: 1 << 20, SectorSize: 4096, Layers: 3, Writes: 8, Seed: 3},
}

func mustEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: %d vs %d bytes, first difference at %d", what, len(got), len(want), i)
	}
}

// TestExportVHDX exports every checkpoint to a dynamic VHDX and reads it
// back with this package's reader, qemu-img (check and convert) and, for
// one, libvhdi.
func TestExportVHDX(t *testing.T) {
	for _, s := range specs {
		t.Run(s.Name, func(t *testing.T) {
			dir := t.TempDir()
			g := testchain.Build(t, dir, s)
			for i, f := range g.Files {
				out := filepath.Join(dir, fmt.Sprintf("out%d.vhdx", i))
				res, err := Run(context.Background(), testchain.Open(t, f), out, Options{BlockSize: 2 << 20, Verify: true})
				if err != nil {
					t.Fatal(err)
				}
				if !res.Verified || res.Allocated >= res.VirtualSize {
					t.Errorf("result %+v: want verified and sparse", res)
				}
				c := testchain.Open(t, out)
				if len(c.Layers) != 1 || c.Layers[0].Type != vhdx.TypeDynamic || c.Layers[0].LogicalSectorSize != s.SectorSize {
					t.Fatalf("export is %v with %d-byte sectors", c.Layers[0].Type, c.Layers[0].LogicalSectorSize)
				}
				mustEqual(t, "export read back", readImage(t, c), g.States[i])
				if s.SectorSize == 512 {
					checkQemu(t, out, "vhdx", g.States[i])
				}
			}
		})
	}
}

// checkQemu runs qemu-img check and compares qemu-img's raw conversion.
func checkQemu(t *testing.T, path, format string, want []byte) {
	t.Helper()
	testutil.NeedTool(t, "qemu-img")
	if format != "raw" {
		testutil.Run(t, "qemu-img", "check", "-f", format, path)
	}
	raw := filepath.Join(t.TempDir(), "q.raw")
	testutil.Run(t, "qemu-img", "convert", "-f", format, "-O", "raw", path, raw)
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "qemu-img convert of "+filepath.Base(path), b, want)
}

// TestExportRaw checks content, hash and sparseness of raw exports.
func TestExportRaw(t *testing.T) {
	s := specs[0]
	dir := t.TempDir()
	g := testchain.Build(t, dir, s)
	top := len(g.Files) - 1
	out := filepath.Join(dir, "top.raw")
	res, err := Run(context.Background(), testchain.Open(t, g.Files[top]), out, Options{Format: FormatRaw, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "raw export", b, g.States[top])
	if limit := dataPages(g.States[top]) + 1<<20; res.FileSize != s.Size || res.Allocated > limit {
		t.Errorf("raw file of %d bytes allocates %d, its data needs %d: not sparse", res.FileSize, res.Allocated, limit)
	}
	if h, _ := hashFile(out); h != res.SHA256 {
		t.Errorf("file hash %s, result %s", h, res.SHA256)
	}
	checkQemu(t, out, "raw", g.States[top])
}

// exportFirst builds specs[0] in a new folder and exports its first
// checkpoint (g.Files[1]) to first.vhdx there, the base for incremental
// exports.
func exportFirst(t *testing.T) (dir string, g testchain.Chain, first string) {
	t.Helper()
	dir = t.TempDir()
	g = testchain.Build(t, dir, specs[0])
	first = filepath.Join(dir, "first.vhdx")
	if _, err := Run(context.Background(), testchain.Open(t, g.Files[1]), first, Options{}); err != nil {
		t.Fatal(err)
	}
	return dir, g, first
}

// TestExportIncremental writes the last checkpoint as a differencing disk
// over the export of the first, and over the first's own disk file.
func TestExportIncremental(t *testing.T) {
	dir, g, baseOut := exportFirst(t)
	top := len(g.Files) - 1
	full, err := Run(context.Background(), testchain.Open(t, g.Files[top]), filepath.Join(dir, "full.vhdx"), Options{BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, baseFile := range []string{baseOut, g.Files[1]} {
		out := filepath.Join(dir, "incr-"+filepath.Base(baseFile)+".avhdx")
		res, err := Run(context.Background(), testchain.Open(t, g.Files[top]), out,
			Options{Base: testchain.Open(t, g.Files[1]), BaseFile: baseFile, BlockSize: 1 << 20, Verify: true})
		if err != nil {
			t.Fatal(err)
		}
		c := testchain.Open(t, out)
		if c.Layers[0].Type != vhdx.TypeDifferencing || c.Layers[1].Name != baseFile {
			t.Fatalf("incremental export's parent is %s", c.Layers[1].Name)
		}
		mustEqual(t, "incremental export", readImage(t, c), g.States[top])
		if res.DataBytes >= full.DataBytes {
			t.Errorf("incremental export wrote %d bytes, the full one %d", res.DataBytes, full.DataBytes)
		}
	}
}

// TestExportLibvhdi reads an export and an incremental export through
// libvhdi's vhdimount.
func TestExportLibvhdi(t *testing.T) {
	dir, g, base := exportFirst(t)
	top := len(g.Files) - 1
	incr := filepath.Join(dir, "incr.avhdx")
	if _, err := Run(context.Background(), testchain.Open(t, g.Files[top]), incr,
		Options{Base: testchain.Open(t, g.Files[1]), BaseFile: base}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(testutil.VhdiMount(t, base, 1))
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "libvhdi view of the export", b, g.States[1])
	if b, err = os.ReadFile(testutil.VhdiMount(t, incr, 2)); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "libvhdi view of the incremental export", b, g.States[top])
}

// TestExportRefusesExisting keeps an existing output unless forced and
// leaves no temporary file behind.
func TestExportRefusesExisting(t *testing.T) {
	s := specs[1]
	s.Layers = 1
	dir := t.TempDir()
	g := testchain.Build(t, dir, s)
	out := filepath.Join(dir, "out.raw")
	if err := os.WriteFile(out, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), testchain.Open(t, g.Files[0]), out, Options{Format: FormatRaw})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("got %v, want ErrExists", err)
	}
	if _, err := Run(context.Background(), testchain.Open(t, g.Files[0]), out, Options{Format: FormatRaw, Force: true}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	mustEqual(t, "forced export", b, g.States[0])
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name()[0] == '.' {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	if _, err := Run(context.Background(), testchain.Open(t, g.Files[0]), out, Options{Format: "qcow2", Force: true}); !errors.Is(err, ErrOptions) {
		t.Errorf("format qcow2: got %v", err)
	}
}

// TestExportCancel stops at once on a cancelled context and removes the
// temporary file.
func TestExportCancel(t *testing.T) {
	s := specs[1]
	s.Layers = 1
	dir := t.TempDir()
	g := testchain.Build(t, dir, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(dir, "out.vhdx")
	if _, err := Run(ctx, testchain.Open(t, g.Files[0]), out, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("folder holds %d entries after a cancelled export", len(ents))
	}
}

// TestExportProgress sees progress reach the virtual size.
func TestExportProgress(t *testing.T) {
	s := specs[1]
	s.Layers = 2
	dir := t.TempDir()
	g := testchain.Build(t, dir, s)
	var last, total int64
	_, err := Run(context.Background(), testchain.Open(t, g.Files[1]), filepath.Join(dir, "o.vhdx"), Options{
		Progress: func(d, tot int64) { last, total = d, tot }})
	if err != nil {
		t.Fatal(err)
	}
	if last != s.Size || total != s.Size {
		t.Errorf("progress ended at %d of %d", last, total)
	}
}

// dataPages returns the bytes of the 4 KiB pages of b that are not all zero.
func dataPages(b []byte) int64 {
	var n int64
	for off := 0; off < len(b); off += 4096 {
		if !isZero(b[off:min(off+4096, len(b))]) {
			n += 4096
		}
	}
	return n
}
