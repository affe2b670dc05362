package xpress

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/wimtest"
)

// BenchmarkDecompress decodes every compressed chunk wimlib wrote for the
// test corpus (XPRESS, 4096-byte chunks); bytes/s count output bytes.
func BenchmarkDecompress(b *testing.B) {
	wimtest.BenchmarkChunks(b, "XPRESS", 4096, Decompress)
}

// BenchmarkReal decodes wimlib's chunks of real files at each WOF chunk
// size: 4 MiB of an x86 binary and 2 MB of Go source (wimtest.RealCorpus).
func BenchmarkReal(b *testing.B) {
	for _, name := range []string{"code.exe", "source.txt"} {
		for _, chunk := range []int{4096, 8192, 16384} {
			b.Run(fmt.Sprintf("%s/%dK", name[:strings.IndexByte(name, '.')], chunk>>10), func(b *testing.B) {
				wimtest.BenchmarkRealChunks(b, name, "XPRESS", chunk, Decompress)
			})
		}
	}
}
