package vhdx

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// chainSpec describes a generated chain.
type chainSpec struct {
	name       string
	size       int64
	blockSize  int64 // base layer; differencing layers use diffBlock
	diffBlock  int64
	sectorSize int64
	layers     int
	seed       int64
	zeroBlocks bool // ZERO blocks in differencing layers
	garbage    bool // junk in the unowned sectors of partial blocks
}

// generatedChain is a chain on disk and the content each layer should show.
type generatedChain struct {
	files  []string // base first
	states [][]byte // states[i]: the disk as seen through files[i]
}

// buildChain writes a base disk and differencing children with the
// package's writer, applying random sector writes (and ZERO blocks) to an
// in-memory model of every checkpoint.
func buildChain(t testing.TB, dir string, s chainSpec) generatedChain {
	t.Helper()
	rng := rand.New(rand.NewSource(s.seed))
	model := make([]byte, s.size)
	var g generatedChain
	var parent *Disk
	for li := 0; li < s.layers; li++ {
		name := filepath.Join(dir, fmt.Sprintf("%s-%d.vhdx", s.name, li))
		opt := CreateOptions{VirtualSize: s.size, BlockSize: s.blockSize, LogicalSectorSize: s.sectorSize}
		if li > 0 {
			name = filepath.Join(dir, fmt.Sprintf("%s-%d.avhdx", s.name, li))
			opt = CreateOptions{Parent: parent, ParentPath: parent.Name, BlockSize: s.diffBlock}
		}
		w, err := Create(name, opt)
		if err != nil {
			t.Fatal(err)
		}
		bs := w.p.BlockSize
		for k := 0; k < 12; k++ {
			sec := s.sectorSize
			n := (1 + rng.Int63n(min(int64(bs)*3/2, s.size/2, 6<<20)/sec)) * sec
			off := rng.Int63n((s.size-n)/sec+1) * sec
			buf := make([]byte, n)
			rng.Read(buf)
			if _, err := w.WriteAt(buf, off); err != nil {
				t.Fatal(err)
			}
			copy(model[off:], buf)
		}
		if li > 0 && s.zeroBlocks {
			blocks := (s.size + int64(bs) - 1) / int64(bs)
			blk := rng.Int63n(blocks)
			end := min((blk+1)*int64(bs), s.size)
			if err := w.SetZero(blk*int64(bs), end-blk*int64(bs)); err != nil {
				t.Fatal(err)
			}
			clear(model[blk*int64(bs) : end])
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if s.garbage {
			fillUnowned(t, name, rng)
		}
		if parent != nil {
			parent.Close()
		}
		parent, err = OpenDisk(name)
		if err != nil {
			t.Fatal(err)
		}
		g.files = append(g.files, name)
		g.states = append(g.states, append([]byte(nil), model...))
	}
	parent.Close()
	return g
}

// fillUnowned writes junk into the sectors of partial blocks whose bitmap
// bit is clear, so a reader that ignores the bitmap returns junk.
func fillUnowned(t testing.TB, name string, rng *rand.Rand) {
	t.Helper()
	d, err := OpenDisk(name)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	junk := make([]byte, d.LogicalSectorSize)
	for b := int64(0); b < d.Blocks(); b++ {
		st, off := d.BlockInfo(b)
		if st != BlockPartial {
			continue
		}
		bm, err := d.SectorBitmap(b)
		if err != nil {
			t.Fatal(err)
		}
		sectors := d.BlockSize / d.LogicalSectorSize
		for k := 0; k < 256; k++ {
			s := rng.Int63n(sectors)
			if bm[s>>3]&(1<<(s&7)) == 0 {
				rng.Read(junk)
				if _, err := f.WriteAt(junk, off+s*d.LogicalSectorSize); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

var chainSpecs = []chainSpec{
	{name: "basic", size: 48 << 20, blockSize: 1 << 20, diffBlock: 1 << 20, sectorSize: 512, layers: 4, seed: 1, zeroBlocks: true, garbage: true},
	{name: "4k", size: 40 << 20, blockSize: 2 << 20, diffBlock: 1 << 20, sectorSize: 4096, layers: 3, seed: 2, zeroBlocks: true, garbage: true},
	{name: "odd", size: 37<<20 + 7*512, blockSize: 8 << 20, diffBlock: 2 << 20, sectorSize: 512, layers: 3, seed: 3, zeroBlocks: true, garbage: true},
	{name: "big", size: 257<<20 + 4096, blockSize: 256 << 20, diffBlock: 256 << 20, sectorSize: 512, layers: 3, seed: 4, zeroBlocks: true, garbage: true},
}

// TestGeneratedChains checks every checkpoint of generated chains against
// the model of what was written.
func TestGeneratedChains(t *testing.T) {
	for _, s := range chainSpecs {
		t.Run(s.name, func(t *testing.T) {
			g := buildChain(t, t.TempDir(), s)
			for i := range g.files {
				c, err := OpenChain(g.files[i], ChainOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(c.Layers) != i+1 {
					t.Fatalf("layer %d: chain of %d", i, len(c.Layers))
				}
				mustEqualBytes(t, fmt.Sprintf("checkpoint %d", i), readAll(t, c), g.states[i])
				checkExtentsCover(t, c, g.states[i])
				c.Close()
			}
		})
	}
}

// checkExtentsCover verifies extents tile the disk and that every non-zero
// byte lies in a data extent.
func checkExtentsCover(t *testing.T, c *Chain, want []byte) {
	t.Helper()
	ex, err := c.Extents(0, c.Size())
	if err != nil {
		t.Fatal(err)
	}
	pos := int64(0)
	for _, e := range ex {
		if e.Off != pos || e.Len <= 0 {
			t.Fatalf("extent %+v does not follow %d", e, pos)
		}
		if e.Kind != ExtentData && !allZero(want[e.Off:e.End()]) {
			t.Fatalf("extent %+v is %v but holds non-zero bytes", e, e.Kind)
		}
		pos = e.End()
	}
	if pos != c.Size() {
		t.Fatalf("extents end at %d, size %d", pos, c.Size())
	}
}

func allZero(b []byte) bool {
	var zero [64 << 10]byte
	for len(b) > 0 {
		n := min(len(b), len(zero))
		if !bytes.Equal(b[:n], zero[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// TestRunsBytewise: the run lists of every mixed unit of the generated
// chains (built eight sectors at a time where the bitmaps allow) say the
// same owner for every sector as a sector-at-a-time reading of the
// bitmaps does.
func TestRunsBytewise(t *testing.T) {
	for _, s := range chainSpecs[:3] {
		t.Run(s.name, func(t *testing.T) {
			g := buildChain(t, t.TempDir(), s)
			c, err := OpenChain(g.files[len(g.files)-1], ChainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			mixed := 0
			for u := int64(0); u<<c.unitShift < c.size; u++ {
				ref := unitRef(c.units.get(u))
				if ref.kind() != unitMixed {
					continue
				}
				mixed++
				rl, err := c.buildRuns(u)
				if err != nil {
					t.Fatal(err)
				}
				m := c.mixed[ref.value()]
				partial, last := m.stack[:len(m.stack)-1], m.stack[len(m.stack)-1]
				bitmaps, err := c.bitmaps(partial)
				if err != nil {
					t.Fatal(err)
				}
				unitLen := min(int64(1)<<c.unitShift, c.size-u<<c.unitShift)
				for x := int64(0); x < unitLen; x += c.sectorSize {
					owner := -1
					for i, lb := range partial {
						sec := (lb.start + x) / c.Layers[lb.layer].LogicalSectorSize
						if sec>>3 < int64(len(bitmaps[i])) && bitmaps[i][sec>>3]&(1<<(sec&7)) != 0 {
							owner = i
							break
						}
					}
					want := c.runFor(owner, partial, last, x)
					got := rl.find(x)[0]
					if got.start > x || got.kind != want.kind || got.layer != want.layer ||
						(want.kind == unitData && got.fileOff+(x-got.start) != want.fileOff) {
						t.Fatalf("unit %d sector at %d: run %+v, want %+v", u, x, got, want)
					}
				}
			}
			if mixed == 0 {
				t.Fatal("no mixed unit to check")
			}
		})
	}
}
