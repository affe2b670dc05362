package xpress

import (
	"testing"

	"github.com/ckptfs/ckptfs/internal/wimtest"
)

// BenchmarkDecompress decodes every compressed chunk wimlib wrote for the
// test corpus (XPRESS, 4096-byte chunks); bytes/s count output bytes.
func BenchmarkDecompress(b *testing.B) {
	dir := b.TempDir()
	wimtest.Corpus(b, dir)
	var chunks [][]byte
	var sizes []int
	for _, r := range wimtest.Capture(b, dir, "XPRESS", 4096) {
		if !r.Compressed {
			continue
		}
		st, sz, err := wimtest.Chunks(r, 4096)
		if err != nil {
			b.Fatal(err)
		}
		for i := range st {
			if len(st[i]) != sz[i] {
				chunks, sizes = append(chunks, st[i]), append(sizes, sz[i])
			}
		}
	}
	total := 0
	for _, s := range sizes {
		total += s
	}
	out := make([]byte, 4096)
	b.SetBytes(int64(total))
	b.ResetTimer()
	for range b.N {
		for i, c := range chunks {
			if err := Decompress(out[:sizes[i]], c); err != nil {
				b.Fatal(err)
			}
		}
	}
}
