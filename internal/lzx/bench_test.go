package lzx

import (
	"testing"

	"github.com/ckptfs/ckptfs/internal/wimtest"
)

// BenchmarkDecompress decodes every compressed chunk wimlib wrote for the
// test corpus (LZX, 32768-byte chunks); bytes/s count output bytes.
func BenchmarkDecompress(b *testing.B) {
	wimtest.BenchmarkChunks(b, "LZX", 32768, Decompress)
}
