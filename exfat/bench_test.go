//go:build linux

package exfat

import (
	"io"
	"io/fs"
	"testing"
)

// BenchmarkWalk lists every folder of the c4k image and describes every
// entry (1,251 paths), from a freshly opened volume each time: what a
// cold `find -ls` of the mount costs the reader.
func BenchmarkWalk(b *testing.B) {
	img := fixture(b, "c4k")
	for i := 0; i < b.N; i++ {
		v, err := Open(img)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		_ = fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil {
				_, err = d.Info()
			}
			n++
			return err
		})
		v.Close()
		if n < 1200 {
			b.Fatalf("%d paths", n)
		}
	}
}

// BenchmarkLookupIn finds each of the 1,200 names of one folder by
// LookupIn, as the mount's lookups do.
func BenchmarkLookupIn(b *testing.B) {
	v := openFixture(b, fixture(b, "c4k"))
	dir, err := v.Stat("many")
	if err != nil {
		b.Fatal(err)
	}
	ents, _ := v.ReadDir("many")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, e := range ents {
			if _, err := v.LookupIn(dir, e.Name()); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReadFragmented reads a file of 24 one-cluster runs (512-byte
// clusters) in 4 KiB reads: each read finds its run by binary search.
func BenchmarkReadFragmented(b *testing.B) {
	v := openFixture(b, fixture(b, "c512"))
	f, err := v.Open("frag/left")
	if err != nil {
		b.Fatal(err)
	}
	r := f.(*File)
	buf := make([]byte, 4096)
	b.SetBytes(r.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for off := int64(0); off < r.Size(); off += int64(len(buf)) {
			if _, err := r.ReadAt(buf, off); err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
	}
}
