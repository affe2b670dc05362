package vhdx

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// checkOpenRanges fails (panics, in a fuzz run) when OpenRanges returns
// ranges that are unsorted, overlap, lie in head or past the file, or
// are larger than the open could read.
func checkOpenRanges(head []byte, size int64) [][2]int64 {
	rs := OpenRanges(head, size)
	prev := int64(len(head))
	for _, r := range rs {
		if r[0] < prev || r[1] <= r[0] || r[1] > size || r[1]-r[0] > 2*planLog {
			panic(fmt.Sprintf("OpenRanges(%d-byte head, size %d) = %v", len(head), size, rs))
		}
		prev = r[1]
	}
	return rs
}

// recorder is a file that notes what is read of it.
type recorder struct {
	r     *bytes.Reader
	mu    sync.Mutex
	reads [][2]int64
}

func (rec *recorder) ReadAt(p []byte, off int64) (int, error) {
	rec.mu.Lock()
	rec.reads = append(rec.reads, [2]int64{off, off + int64(len(p))})
	rec.mu.Unlock()
	return rec.r.ReadAt(p, off)
}

// TestOpenRangesCoverOpen opens disks of each kind through a recorder:
// every byte the open reads lies in the head or in OpenRanges, so a
// remote reader that fetches those two at once opens a disk in two
// round trips.
func TestOpenRangesCoverOpen(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.vhdx")
	w, err := Create(base, CreateOptions{VirtualSize: 256 << 20, BlockSize: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	w.WriteAt(bytes.Repeat([]byte{0x42}, 1<<20), 5<<20)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	parent, err := OpenDisk(base)
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	child := filepath.Join(dir, "child.avhdx")
	w, err = Create(child, CreateOptions{Parent: parent, BlockSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	w.WriteAt(bytes.Repeat([]byte{0x43}, 8192), 7<<20)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	dyn, diff, fixed := vhdTestImages(t)
	pat := bytes.Repeat([]byte{0x5a}, 4096)
	// VHDs larger than the head: a dynamic one's BAT (4 B per 2 MiB)
	// reaches past it from 160 GiB on.
	bigDyn, err := buildVHD(vhdCreateOptions{Type: TypeDynamic, Size: 200 << 30, Writes: []vhdWrite{{0, pat}, {199 << 30, pat}}})
	if err != nil {
		t.Fatal(err)
	}
	bigFixed, err := buildVHD(vhdCreateOptions{Type: TypeFixed, Size: 4 << 20, Writes: []vhdWrite{{0, pat}}})
	if err != nil {
		t.Fatal(err)
	}
	images := map[string][]byte{"base.vhdx": nil, "child.avhdx": nil, "good.vhdx": fuzzBase(t),
		"dynamic.vhd": dyn, "differencing.vhd": diff, "fixed.vhd": fixed, "dynamic-200G.vhd": bigDyn, "fixed-4M.vhd": bigFixed}
	for _, n := range []string{"base.vhdx", "child.avhdx"} {
		if images[n], err = os.ReadFile(filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	for name, img := range images {
		t.Run(name, func(t *testing.T) {
			size := int64(len(img))
			head := img[:min(size, HeadSize)]
			rs := checkOpenRanges(head, size)
			if len(rs) == 0 && size > HeadSize {
				t.Fatalf("no ranges")
			}
			rec := &recorder{r: bytes.NewReader(img)}
			d, err := NewDisk(rec, size)
			if err != nil {
				t.Fatal(err)
			}
			covered := func(a, b int64) bool {
				if b <= int64(len(head)) {
					return true
				}
				a = max(a, int64(len(head)))
				for _, r := range rs {
					if a >= r[0] && b <= r[1] {
						return true
					}
				}
				return false
			}
			for _, r := range rec.reads {
				if !covered(r[0], r[1]) {
					t.Errorf("the open read [%d, %d), outside the head and %v", r[0], r[1], rs)
				}
			}
			var fetched int64 = int64(len(head))
			for _, r := range rs {
				fetched += r[1] - r[0]
			}
			t.Logf("%s (%s): head %d + %v = %d bytes fetched for %d reads", name, d.Format, len(head), rs, fetched, len(rec.reads))
		})
	}
}
