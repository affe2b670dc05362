//go:build linux

package ext

import (
	"crypto/sha256"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// treeImage returns the 50,000-file volume of the tree-walk benchmarks
// (testdata/perf/tree.sh, mkfs.ext4 -d: no root needed), built when
// missing or made by an older script.
func treeImage(b *testing.B) *os.File {
	b.Helper()
	testutil.NeedTool(b, "mkfs.ext4")
	unlock := testutil.LockFixtures(b)
	out := testutil.OutDir("perf")
	script := filepath.Join(testutil.RepoRoot(), "testdata", "perf", "tree.sh")
	if o, err := exec.Command("bash", script, out, "ext4").CombinedOutput(); err != nil {
		unlock()
		b.Fatalf("tree.sh: %v\n%s", err, o)
	}
	unlock()
	f, err := os.Open(filepath.Join(out, "tree-ext4.img"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

// walkTree walks v, calling each for every regular file, and returns
// the entries seen.
func walkTree(b *testing.B, v *FS, each func(p string, d fs.DirEntry) error) int {
	n := 0
	err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n++
		if each != nil {
			return each(p, d)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkFind walks the 50,000-file volume with each entry's metadata
// (find -ls), through a freshly opened FS each time, so the reader's
// caches start cold (the host's page cache does not).
func BenchmarkFind(b *testing.B) {
	f := treeImage(b)
	st, _ := f.Stat()
	for b.Loop() {
		v, err := NewFS(f, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		n := walkTree(b, v, func(p string, d fs.DirEntry) error { _, err := d.Info(); return err })
		if n != 51022 { // with the root and lost+found
			b.Fatalf("%d entries", n)
		}
	}
	b.ReportMetric(float64(51022*b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkFindHash walks the volume and hashes every file, opened by
// path as a walk through the mount would.
func BenchmarkFindHash(b *testing.B) {
	f := treeImage(b)
	st, _ := f.Stat()
	buf := make([]byte, 64<<10)
	var files, bytes int64
	for b.Loop() {
		v, err := NewFS(f, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		files, bytes = 0, 0
		walkTree(b, v, func(p string, d fs.DirEntry) error {
			if !d.Type().IsRegular() {
				return nil
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
	}
	if files != 50000 {
		b.Fatalf("%d files", files)
	}
	b.ReportMetric(float64(files*int64(b.N))/b.Elapsed().Seconds(), "files/s")
	b.SetBytes(bytes)
}

// BenchmarkLookupIn describes every name of every leaf folder from the
// folder's FileInfo, as the mount's LOOKUPs do.
func BenchmarkLookupIn(b *testing.B) {
	f := treeImage(b)
	st, _ := f.Stat()
	v, err := NewFS(f, st.Size())
	if err != nil {
		b.Fatal(err)
	}
	dir, err := v.Stat("d00/s00")
	if err != nil {
		b.Fatal(err)
	}
	ents, err := v.ReadDir("d00/s00")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range ents {
			if _, err := v.LookupIn(dir, e.Name()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(ents)*b.N)/b.Elapsed().Seconds(), "lookups/s")
}
