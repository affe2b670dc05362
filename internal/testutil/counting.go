package testutil

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// CountingReader counts what reaches an io.ReaderAt: reads, bytes, and
// the distinct 4 KiB pages and 64 KiB stretches touched (a disk below
// pays about one seek per stretch, and the VHDX layer reads 64 KiB around
// a read that continues no stream). The readers' walk benchmarks report
// it, so that a change that reads more shows in make bench.
type CountingReader struct {
	r            io.ReaderAt
	reads, bytes atomic.Int64

	mu        sync.Mutex
	pages     map[int64]struct{}
	stretches map[int64]struct{}
}

// NewCountingReader counts the reads that reach r.
func NewCountingReader(r io.ReaderAt) *CountingReader {
	return &CountingReader{r: r, pages: map[int64]struct{}{}, stretches: map[int64]struct{}{}}
}

// ReadAt counts the read and passes it on.
func (c *CountingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads.Add(1)
	c.bytes.Add(int64(len(p)))
	c.mu.Lock()
	for pg := off >> 12; pg<<12 < off+int64(len(p)); pg++ {
		c.pages[pg] = struct{}{}
	}
	for s := off >> 16; s<<16 < off+int64(len(p)); s++ {
		c.stretches[s] = struct{}{}
	}
	c.mu.Unlock()
	return c.r.ReadAt(p, off)
}

// Report adds the counts, per op of b, to b's metrics.
func (c *CountingReader) Report(b *testing.B) {
	n := float64(b.N)
	b.ReportMetric(float64(c.reads.Load())/n, "reads/op")
	b.ReportMetric(float64(c.bytes.Load())/n/(1<<20), "MB-read/op")
	b.ReportMetric(float64(len(c.pages))*4096/(1<<20), "MB-pages")
	b.ReportMetric(float64(len(c.stretches))*65536/(1<<20), "MB-64k")
}

// WalkHow says what a benchmark walk does with each entry.
type WalkHow int

const (
	WalkNames  WalkHow = iota // list only: find through plain READDIR
	WalkLookup                // and describe every entry (READDIRPLUS, ls -l)
	WalkHash                  // and read every file (find | xargs sha256sum)
)

// TreeWalk opens a volume on r (size bytes) afresh and walks it the way
// the mount does, how deep as how says, reading files in pieces of buf;
// it returns the entries and files seen.
type TreeWalk func(r io.ReaderAt, size int64, how WalkHow, buf []byte) (ents, files int, err error)

// BenchTreeWalk runs a reader's tree-walk benchmarks over the volume in f
// (the 50,000-file tree of testdata/perf/tree.sh): names only, every
// entry described, every file read, each op from a freshly opened volume
// (the reader's caches cold, the host's page cache not). It checks the
// entries and files seen and reports what reached the file
// (CountingReader) and the entries per second.
func BenchTreeWalk(b *testing.B, f *os.File, wantEnts, wantFiles int, walk TreeWalk) {
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		how  WalkHow
	}{{"names", WalkNames}, {"lookup", WalkLookup}, {"hash", WalkHash}} {
		b.Run(c.name, func(b *testing.B) {
			cr := NewCountingReader(f)
			buf := make([]byte, 128<<10)
			b.ReportAllocs()
			var ents, files int
			for i := 0; i < b.N; i++ {
				if ents, files, err = walk(cr, st.Size(), c.how, buf); err != nil {
					b.Fatal(err)
				}
			}
			if ents != wantEnts || c.how == WalkHash && files != wantFiles {
				b.Fatalf("%d entries, %d files", ents, files)
			}
			cr.Report(b)
			b.ReportMetric(float64(ents*b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
