package xpress

import (
	"testing"

	"github.com/ckptfs/ckptfs/internal/wimtest"
)

// BenchmarkDecompress decodes every compressed chunk wimlib wrote for the
// test corpus (XPRESS, 4096-byte chunks); bytes/s count output bytes.
func BenchmarkDecompress(b *testing.B) {
	wimtest.BenchmarkChunks(b, "XPRESS", 4096, Decompress)
}
