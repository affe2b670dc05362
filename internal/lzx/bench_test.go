package lzx

import (
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/wimtest"
)

// BenchmarkDecompress decodes every compressed chunk wimlib wrote for the
// test corpus (LZX, 32768-byte chunks); bytes/s count output bytes.
func BenchmarkDecompress(b *testing.B) {
	wimtest.BenchmarkChunks(b, "LZX", 32768, Decompress)
}

// BenchmarkReal decodes wimlib's 32 KiB chunks of real files: 4 MiB of an
// x86 binary and 2 MB of Go source (wimtest.RealCorpus).
func BenchmarkReal(b *testing.B) {
	for _, name := range []string{"code.exe", "source.txt"} {
		b.Run(name[:strings.IndexByte(name, '.')], func(b *testing.B) {
			wimtest.BenchmarkRealChunks(b, name, "LZX", 32768, Decompress)
		})
	}
}
