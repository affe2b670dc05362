// Package testchain builds checkpoint chains for the tests of packages
// that work on whole chains (export, merge). It writes them with package
// vhdx's writer, so vhdx's own tests cannot use it and keep their own
// builder.
package testchain

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/vhdx"
)

// Spec describes a generated checkpoint chain.
type Spec struct {
	Name       string
	Size       int64
	BlockSize  int64 // base disk
	DiffBlock  int64 // differencing disks
	SectorSize int64
	Layers     int
	Writes     int // random writes per layer
	// LayerWrites, when it has an entry for a layer (base first), sets
	// that layer's writes instead of Writes: a big base under small
	// children, say.
	LayerWrites []int
	Seed        int64
	NoZero      bool // no ZERO blocks (libvhdi misreads them in differencing disks)
}

// Chain is a chain on disk, base first, and what each file shows.
type Chain struct {
	Files  []string
	States [][]byte // States[i]: the disk as seen through Files[i]
}

// Build writes a base disk <Name>.vhdx and children <Name>_<GUID>.avhdx
// into dir as Hyper-V names them, applying random sector writes (and,
// unless NoZero, one ZERO block per child) to a model of each checkpoint.
// The same Spec always gives the same content.
func Build(t testing.TB, dir string, s Spec) Chain {
	t.Helper()
	rng := rand.New(rand.NewSource(s.Seed))
	model := make([]byte, s.Size)
	var g Chain
	var parent *vhdx.Disk
	for li := 0; li < s.Layers; li++ {
		name := filepath.Join(dir, s.Name+".vhdx")
		opt := vhdx.CreateOptions{VirtualSize: s.Size, BlockSize: s.BlockSize, LogicalSectorSize: s.SectorSize}
		bs := s.BlockSize
		if li > 0 {
			name = filepath.Join(dir, fmt.Sprintf("%s_%s.avhdx", s.Name, vhdx.NewGUID()))
			opt = vhdx.CreateOptions{Parent: parent, ParentPath: parent.Name, BlockSize: s.DiffBlock}
			bs = s.DiffBlock
		}
		w, err := vhdx.Create(name, opt)
		if err != nil {
			t.Fatal(err)
		}
		writes := s.Writes
		if li < len(s.LayerWrites) {
			writes = s.LayerWrites[li]
		}
		for k := 0; k < writes; k++ {
			sec := s.SectorSize
			n := (1 + rng.Int63n(min(bs*3/2, s.Size/2, 6<<20)/sec)) * sec
			off := rng.Int63n((s.Size-n)/sec+1) * sec
			buf := make([]byte, n)
			rng.Read(buf)
			if _, err := w.WriteAt(buf, off); err != nil {
				t.Fatal(err)
			}
			copy(model[off:], buf)
		}
		if li > 0 && !s.NoZero {
			blk := rng.Int63n((s.Size + bs - 1) / bs)
			end := min((blk+1)*bs, s.Size)
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
		g.Files = append(g.Files, name)
		g.States = append(g.States, append([]byte(nil), model...))
	}
	parent.Close()
	return g
}

// Open opens the chain ending at name; it is closed with the test.
func Open(t testing.TB, name string) *vhdx.Chain {
	t.Helper()
	c, err := vhdx.OpenChain(name, vhdx.ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
