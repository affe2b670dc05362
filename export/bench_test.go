package export

import (
	"context"
	"path/filepath"
	"testing"
)

var benchSpec = chainSpec{name: "bench", size: 256 << 20, blockSize: 32 << 20, diffBlock: 2 << 20, sectorSize: 512, writes: 24, seed: 9}

func benchExport(b *testing.B, layers int, opt Options) {
	s := benchSpec
	s.layers = layers
	dir := b.TempDir()
	g := buildChain(b, dir, s)
	c := openChain(b, g.files[len(g.files)-1])
	b.SetBytes(s.size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		opt.Force = true
		if _, err := Run(context.Background(), c, filepath.Join(dir, "out"), opt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExportRaw exports a dynamic VHDX to a sparse raw file.
func BenchmarkExportRaw(b *testing.B) { benchExport(b, 1, Options{Format: FormatRaw}) }

// BenchmarkExportVHDX exports a dynamic VHDX to a new dynamic VHDX.
func BenchmarkExportVHDX(b *testing.B) { benchExport(b, 1, Options{}) }

// BenchmarkExportChain4 exports the top of a 4-layer chain to a VHDX.
func BenchmarkExportChain4(b *testing.B) { benchExport(b, 4, Options{}) }
