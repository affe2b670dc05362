package diff

import (
	"context"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

var benchLarge = flag.Bool("diff.large", false, "also run the 4 GiB-change benchmark (writes 8 GiB of layers)")

// BenchmarkRanges16GiB diffs two adjacent checkpoints of a 16 GiB virtual
// disk: a base holding as much data as the change, and a child that
// rewrites the given amount in scattered 1 MiB pieces, one piece in eight
// with the same bytes (so confirming has something to drop).
func BenchmarkRanges16GiB(b *testing.B) {
	for _, c := range []struct {
		name    string
		changed int64
	}{{"64MiB", 64 << 20}, {"512MiB", 512 << 20}, {"4GiB", 4 << 30}} {
		b.Run(c.name, func(b *testing.B) {
			if c.changed > 1<<30 && !*benchLarge {
				b.Skip("needs -diff.large")
			}
			dir := b.TempDir()
			makeBenchChain(b, dir, 16<<30, c.changed)
			vm := openVM(b, dir)
			from, to := find(b, vm, "base"), find(b, vm, "child")
			b.SetBytes(c.changed)
			b.ResetTimer()
			for range b.N {
				if _, err := Compare(context.Background(), from, to, Options{Ranges: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func makeBenchChain(b *testing.B, dir string, size, changed int64) {
	const piece = 1 << 20
	rng := rand.New(rand.NewPCG(1, 2))
	slots := size / piece
	offs := rng.Perm(int(slots))[:changed/piece]
	buf := make([]byte, piece)
	// write puts every piece into w: the base's pattern for the base (and
	// for every eighth piece of the child), another one otherwise.
	write := func(w *vhdx.Writer, child bool) {
		for i, o := range offs {
			fill(buf, uint64(o))
			if child && i%8 != 0 {
				fill(buf, uint64(o)*7+uint64(i)+1)
			}
			if _, err := w.WriteAt(buf, int64(o)*piece); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	basePath := filepath.Join(dir, "base.vhdx")
	w, err := vhdx.Create(basePath, vhdx.CreateOptions{VirtualSize: size})
	if err != nil {
		b.Fatal(err)
	}
	write(w, false)
	parent, err := vhdx.OpenDisk(basePath)
	if err != nil {
		b.Fatal(err)
	}
	defer parent.Close()
	cw, err := vhdx.Create(filepath.Join(dir, "child.avhdx"), vhdx.CreateOptions{Parent: parent, ParentPath: basePath})
	if err != nil {
		b.Fatal(err)
	}
	write(cw, true)
}

// fill writes a cheap deterministic pattern derived from seed.
func fill(p []byte, seed uint64) {
	x := seed*0x9E3779B97F4A7C15 + 1
	for i := 0; i+8 <= len(p); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		for k := 0; k < 8; k++ {
			p[i+k] = byte(x >> (8 * k))
		}
	}
}

// BenchmarkThoroughScan measures the Thorough scan of one state: every MFT
// record of the 100,000-file volume that `testdata/ntfs/gen.sh ” big`
// builds, against a changed span no file meets.
func BenchmarkThoroughScan(b *testing.B) {
	p := filepath.Join(testutil.RepoRoot(), "testdata", "out", "ntfs", "big.img")
	if _, err := os.Stat(p); err != nil {
		b.Skip("needs testdata/out/ntfs/big.img (testdata/ntfs/gen.sh big)")
	}
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	vols, err := guest.Volumes(f, st.Size(), "big")
	if err != nil || len(vols) != 1 {
		b.Fatal(vols, err)
	}
	rs := recordsOf(b, vols[0])
	b.ReportMetric(float64(rs.fs.RecordSlots()), "records")
	for range b.N {
		notes, err := dataFiles(context.Background(), "vol", "the state", rs, []span{{0, 1}}, map[uint64]bool{})
		if err != nil || len(notes) != 0 {
			b.Fatal(err, notes)
		}
	}
}
