package vhdx

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// benchChain builds a chain of `layers` files over a virtual disk of size
// bytes; every layer writes `perBlock` scattered sector runs into every
// one of the first `touched` blocks, so those blocks are partial in every
// differencing layer.
func benchChain(b *testing.B, dir string, size, blockSize int64, layers int, touched int64) []string {
	b.Helper()
	rng := rand.New(rand.NewSource(7))
	var files []string
	var parent *Disk
	buf := make([]byte, 64<<10)
	rng.Read(buf)
	for li := 0; li < layers; li++ {
		name := filepath.Join(dir, fmt.Sprintf("l%d.avhdx", li))
		opt := CreateOptions{VirtualSize: size, BlockSize: blockSize}
		if parent != nil {
			opt = CreateOptions{Parent: parent, BlockSize: blockSize}
		}
		w, err := Create(name, opt)
		if err != nil {
			b.Fatal(err)
		}
		for blk := int64(0); blk < touched; blk++ {
			for k := 0; k < 8; k++ {
				off := blk*blockSize + rng.Int63n(blockSize/int64(len(buf)))*int64(len(buf))
				if li == 0 {
					off = blk * blockSize // the base holds its blocks whole
					k = 8
					for o := int64(0); o < blockSize; o += int64(len(buf)) {
						w.WriteAt(buf, off+o)
					}
					continue
				}
				if _, err := w.WriteAt(buf[:4096*(1+rng.Intn(15))], off); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if parent != nil {
			parent.Close()
		}
		if parent, err = OpenDisk(name); err != nil {
			b.Fatal(err)
		}
		files = append(files, name)
	}
	parent.Close()
	return files
}

// BenchmarkOpenDeepChain opens a 10-deep chain of 1 TiB disks (sparse
// files) and reports the heap it holds afterwards.
func BenchmarkOpenDeepChain(b *testing.B) {
	dir := b.TempDir()
	files := benchChain(b, dir, 1<<40, 2<<20, 10, 4) // 2 MiB: Hyper-V's checkpoint block size
	top := files[len(files)-1]
	b.ResetTimer()
	var heap uint64
	for i := 0; i < b.N; i++ {
		c, err := OpenChain(top, ChainOptions{})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = ms.HeapAlloc
		c.Close()
	}
	b.ReportMetric(float64(heap)/(1<<20), "MiB-heap")
}

// fourLayer is a 4-layer chain, 32 MiB blocks, every block partial in
// every differencing layer, over a 512 MiB disk.
func fourLayer(b *testing.B) *Chain {
	dir := b.TempDir()
	const size = 512 << 20
	files := benchChain(b, dir, size, 32<<20, 4, size/(32<<20))
	c, err := OpenChain(files[len(files)-1], ChainOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkSequentialRead4Layer reads the 4-layer chain with 1 MiB reads,
// the FUSE request size. Compare with BenchmarkPlainFileRead.
func BenchmarkSequentialRead4Layer(b *testing.B) {
	c := fourLayer(b)
	buf := make([]byte, 1<<20)
	b.SetBytes(c.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for off := int64(0); off < c.Size(); off += int64(len(buf)) {
			if _, err := c.ReadAt(buf, off); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkPlainFileRead reads a plain file of the same size from the page
// cache: the ceiling for BenchmarkSequentialRead4Layer.
func BenchmarkPlainFileRead(b *testing.B) {
	p := filepath.Join(b.TempDir(), "plain")
	data := make([]byte, 512<<20)
	rand.New(rand.NewSource(1)).Read(data[:1<<20])
	for i := 1; i < 512; i++ {
		copy(data[i<<20:], data[:1<<20])
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for off := int64(0); off < int64(len(data)); off += int64(len(buf)) {
			if _, err := f.ReadAt(buf, off); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkRandom4K reads 4 KiB at random aligned offsets of the 4-layer
// chain from 4 goroutines.
func BenchmarkRandom4K(b *testing.B) {
	c := fourLayer(b)
	b.SetBytes(4096)
	b.SetParallelism(2) // with GOMAXPROCS=2: 4 goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewSource(rand.Int63()))
		buf := make([]byte, 4096)
		for pb.Next() {
			off := rng.Int63n(c.Size()/4096) * 4096
			if _, err := c.ReadAt(buf, off); err != nil {
				b.Fatal(err)
			}
		}
	})
}
