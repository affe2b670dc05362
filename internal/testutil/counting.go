package testutil

import (
	"io"
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
