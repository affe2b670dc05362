package vhdx

import (
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestWriterConcurrentWrites writes distinct sector runs from several
// goroutines into a base disk and into a differencing disk over it (run
// with -race), then checks both against a model, the base through qemu-img
// and the chain through libvhdi (qemu cannot open differencing VHDX).
func TestWriterConcurrentWrites(t *testing.T) {
	const size = 24 << 20
	dir := t.TempDir()
	base := filepath.Join(dir, "base.vhdx")
	child := filepath.Join(dir, "child.avhdx")
	want := make([]byte, size)

	// writeAll splits [0, size) into runs of random length, gives every
	// other run (so the parent shows through between them in the child)
	// a random pattern, and writes the runs from 6 goroutines at once.
	writeAll := func(w *Writer, seed int64) {
		rng := rand.New(rand.NewSource(seed))
		type run struct{ off, n int64 }
		var runs []run
		for off := int64(0); off < size; {
			n := min(int64(1+rng.Intn(2048))*512, size-off)
			if rng.Intn(2) == 0 {
				runs = append(runs, run{off, n})
				rng.Read(want[off : off+n])
			}
			off += n
		}
		jobs := make(chan run)
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				for r := range jobs {
					if _, err := w.WriteAt(want[r.off:r.off+r.n], r.off); err != nil {
						t.Error(err)
					}
				}
			})
		}
		for _, r := range runs {
			jobs <- r
		}
		close(jobs)
		wg.Wait()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}

	w, err := Create(base, CreateOptions{VirtualSize: size, BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(w, 1)
	mustEqualBytes(t, "base through qemu-img", qemuToRaw(t, base, "vhdx"), want)

	parent, err := OpenDisk(base)
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	w, err = Create(child, CreateOptions{Parent: parent, ParentPath: base, BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(w, 2)
	c, err := OpenChain(child, ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustEqualBytes(t, "chain through ckptfs", readAll(t, c), want)
	got, err := os.ReadFile(testutil.VhdiMount(t, child, 2))
	if err != nil {
		t.Fatal(err)
	}
	mustEqualBytes(t, "chain through libvhdi", got, want)
}
