//go:build linux

package xfs

import (
	"crypto/sha256"
	"io"
	"io/fs"
	"os"
	"testing"
)

// BenchmarkFindHash walks the 50,000-file volume (find) and hashes every
// file, through a freshly opened FS each time, so the reader's caches
// start cold (the host's page cache does not).
func BenchmarkFindHash(b *testing.B) {
	img := fixture(b, "bench")
	f, err := os.Open(img)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	buf := make([]byte, 64<<10)
	var files, bytes int64
	b.ResetTimer()
	for range b.N {
		v, err := NewFS(f, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		files, bytes = 0, 0
		err = fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			fh, err := v.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			n, err := io.CopyBuffer(h, fh.(io.Reader), buf)
			files, bytes = files+1, bytes+n
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if files != 50000 {
		b.Fatalf("%d files", files)
	}
	b.ReportMetric(float64(files*int64(b.N))/b.Elapsed().Seconds(), "files/s")
	b.SetBytes(bytes)
}

// BenchmarkFind walks the 50,000-file volume with each entry's metadata
// (find -ls), without reading file content.
func BenchmarkFind(b *testing.B) {
	img := fixture(b, "bench")
	f, err := os.Open(img)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	b.ResetTimer()
	for range b.N {
		v, err := NewFS(f, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		err = fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			_, err = d.Info()
			n++
			return err
		})
		if err != nil || n != 50251 {
			b.Fatalf("%d entries, %v", n, err)
		}
	}
}
