// Command benchchain builds the chains `make bench` measures: a base VHDX
// whose blocks are all present and differencing layers that each write
// scattered sector runs into every block, so every block of every child is
// partially present. The content is pseudo-random from a fixed seed.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"

	"github.com/ckptfs/ckptfs/vhdx"
)

func main() {
	out := flag.String("o", ".", "output folder")
	size := flag.Int64("size", 1<<30, "virtual size in bytes")
	block := flag.Int64("block-size", 32<<20, "block size of every layer")
	layers := flag.Int("layers", 4, "files in the chain, base included")
	runs := flag.Int("runs", 8, "sector runs written per block per child")
	touch := flag.Int64("touch", -1, "blocks written per layer (-1: all)")
	flag.Parse()
	if err := build(*out, *size, *block, *layers, *runs, *touch); err != nil {
		fmt.Fprintln(os.Stderr, "benchchain:", err)
		os.Exit(1)
	}
}

func build(dir string, size, block int64, layers, runs int, touch int64) error {
	rng := rand.New(rand.NewSource(7))
	buf := make([]byte, 1<<20)
	rng.Read(buf)
	blocks := (size + block - 1) / block
	if touch >= 0 {
		blocks = min(blocks, touch)
	}
	var parent *vhdx.Disk
	for li := 0; li < layers; li++ {
		name := filepath.Join(dir, fmt.Sprintf("layer%d.vhdx", li))
		opt := vhdx.CreateOptions{VirtualSize: size, BlockSize: block}
		if parent != nil {
			name = filepath.Join(dir, fmt.Sprintf("layer%d.avhdx", li))
			opt = vhdx.CreateOptions{Parent: parent, BlockSize: block}
		}
		w, err := vhdx.Create(name, opt)
		if err != nil {
			return err
		}
		for b := int64(0); b < blocks; b++ {
			base := b * block
			n := min(block, size-base)
			if parent == nil {
				for o := int64(0); o < n; o += int64(len(buf)) {
					if _, err := w.WriteAt(buf[:min(int64(len(buf)), n-o)], base+o); err != nil {
						return err
					}
				}
				continue
			}
			for k := 0; k < runs; k++ {
				l := int64(4096 * (1 + rng.Intn(32)))
				off := base + rng.Int63n((n-l)/4096+1)*4096
				if _, err := w.WriteAt(buf[:l], off); err != nil {
					return err
				}
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
		if parent != nil {
			parent.Close()
		}
		if parent, err = vhdx.OpenDisk(name); err != nil {
			return err
		}
		fmt.Println(name)
	}
	return parent.Close()
}
