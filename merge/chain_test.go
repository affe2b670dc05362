package merge

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/vhdx"
)

// chainSpec describes a generated checkpoint chain.
type chainSpec struct {
	name       string
	size       int64
	blockSize  int64 // base disk
	diffBlock  int64 // differencing disks
	sectorSize int64
	layers     int
	writes     int // random writes per layer
	seed       int64
	noZero     bool // no ZERO blocks (libvhdi misreads them in differencing disks)
}

// testChain is a chain on disk, base first, and what each file shows.
type testChain struct {
	files  []string
	states [][]byte
}

// buildChain writes a base disk <name>.vhdx and children
// <name>_<GUID>.avhdx as Hyper-V names them, applying random sector
// writes (and one ZERO block per child) to a model of each checkpoint.
func buildChain(t testing.TB, dir string, s chainSpec) testChain {
	t.Helper()
	rng := rand.New(rand.NewSource(s.seed))
	model := make([]byte, s.size)
	var g testChain
	var parent *vhdx.Disk
	for li := 0; li < s.layers; li++ {
		name := filepath.Join(dir, s.name+".vhdx")
		opt := vhdx.CreateOptions{VirtualSize: s.size, BlockSize: s.blockSize, LogicalSectorSize: s.sectorSize}
		bs := s.blockSize
		if li > 0 {
			name = filepath.Join(dir, fmt.Sprintf("%s_%s.avhdx", s.name, vhdx.NewGUID()))
			opt = vhdx.CreateOptions{Parent: parent, ParentPath: parent.Name, BlockSize: s.diffBlock}
			bs = s.diffBlock
		}
		w, err := vhdx.Create(name, opt)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < s.writes; k++ {
			sec := s.sectorSize
			n := (1 + rng.Int63n(min(bs*3/2, s.size/2, 6<<20)/sec)) * sec
			off := rng.Int63n((s.size-n)/sec+1) * sec
			buf := make([]byte, n)
			rng.Read(buf)
			if _, err := w.WriteAt(buf, off); err != nil {
				t.Fatal(err)
			}
			copy(model[off:], buf)
		}
		if li > 0 && !s.noZero {
			blk := rng.Int63n((s.size + bs - 1) / bs)
			end := min((blk+1)*bs, s.size)
			if err := w.SetZero(blk*bs, end-blk*bs); err != nil {
				t.Fatal(err)
			}
			clear(model[blk*bs : end])
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if parent != nil {
			parent.Close()
		}
		if parent, err = vhdx.OpenDisk(name); err != nil {
			t.Fatal(err)
		}
		g.files = append(g.files, name)
		g.states = append(g.states, append([]byte(nil), model...))
	}
	parent.Close()
	return g
}

func openChain(t testing.TB, name string) *vhdx.Chain {
	t.Helper()
	c, err := vhdx.OpenChain(name, vhdx.ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readImage(t testing.TB, img vhdx.Image) []byte {
	t.Helper()
	b := make([]byte, img.Size())
	if _, err := img.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}
