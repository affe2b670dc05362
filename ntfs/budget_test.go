package ntfs

import (
	"io/fs"
	"os"
	"runtime"
	"testing"
)

// liveHeap returns the bytes of live heap after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestCacheBytes: after a walk that describes every entry (ls -lR), what
// each cache says it holds is what dropping it frees from the heap, within
// a third: the budget counts bytes, and the counts must be honest.
// CKPTFS_NTFS_BYTES_IMAGE names another volume to measure (the 50,000-file
// tree of the walk benchmarks, for the figures in budget.go).
func TestCacheBytes(t *testing.T) {
	var v *Volume
	if p := os.Getenv("CKPTFS_NTFS_BYTES_IMAGE"); p != "" {
		var err error
		if v, err = Open(p); err != nil {
			t.Fatal(err)
		}
		defer v.Close()
	} else {
		v = openImage(t, "small")
	}
	entries := 0
	err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		entries++
		_, err = d.Info()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	type cache struct {
		name string
		held int64
		drop func()
	}
	list := []cache{
		{"records", v.cache.Bytes(), v.cache.Clear},
		{"listings", v.listings.Bytes(), v.listings.Clear},
		{"mft blocks", v.mftBlocks.Bytes(), v.mftBlocks.Clear},
		{"index records", v.indexes.Bytes(), v.indexes.Clear},
	}
	var total int64
	for _, c := range list {
		before := liveHeap()
		c.drop()
		freed := before - liveHeap()
		total += c.held
		t.Logf("%-14s accounted %8.2f MiB, freed %8.2f MiB (%.2f)", c.name, mib(c.held), mib(freed), float64(freed)/float64(max(c.held, 1)))
		if c.held > 1<<20 && (freed < c.held*2/3 || freed > c.held*4/3) {
			t.Errorf("%s: accounted %d bytes, dropping them freed %d", c.name, c.held, freed)
		}
	}
	t.Logf("%d entries: %.2f MiB accounted, %.0f bytes an entry", entries, mib(total), float64(total)/float64(entries))
	runtime.KeepAlive(v)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
