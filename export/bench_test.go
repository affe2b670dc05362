package export

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testchain"
)

var benchSpec = testchain.Spec{Name: "bench", Size: 256 << 20, BlockSize: 32 << 20, DiffBlock: 2 << 20, SectorSize: 512, Writes: 24, Seed: 9}

func benchExport(b *testing.B, layers int, opt Options) {
	s := benchSpec
	s.Layers = layers
	dir := b.TempDir()
	g := testchain.Build(b, dir, s)
	c := testchain.Open(b, g.Files[len(g.Files)-1])
	b.SetBytes(s.Size)
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
