//go:build linux

package ext

import (
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// Walk benchmarks: what a cold walk through the mount asks of the reader,
// with what reaches the volume's file counted (reads, bytes, and the
// distinct 4 KiB pages touched).

// fuseWalk walks the directory at p (described by dir) as the mount does:
// the listing by path, each entry described by LookupIn from its
// directory, each file opened from its FileInfo and read in 128 KiB
// requests. It returns the entries and files seen.
func fuseWalk(v *FS, p string, dir fs.FileInfo, how testutil.WalkHow, buf []byte) (ents, files int, err error) {
	list, err := v.ReadDir(p)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range list {
		ents++
		var fi fs.FileInfo
		if how >= testutil.WalkLookup || e.IsDir() {
			if fi, err = v.LookupIn(dir, e.Name()); err != nil {
				return ents, files, err
			}
		}
		if e.IsDir() {
			n, f, err := fuseWalk(v, path.Join(p, e.Name()), fi, how, buf)
			ents, files = ents+n, files+f
			if err != nil {
				return ents, files, err
			}
			continue
		}
		if how < testutil.WalkHash || !e.Type().IsRegular() {
			continue
		}
		files++
		f, err := v.OpenInfo(path.Join(p, e.Name()), fi)
		if err != nil {
			return ents, files, err
		}
		ra := f.(io.ReaderAt)
		for off := int64(0); off < fi.Size(); off += int64(len(buf)) {
			if _, err := ra.ReadAt(buf, off); err != nil && err != io.EOF {
				return ents, files, err
			}
		}
	}
	return ents, files, nil
}

// BenchmarkTreeWalk walks the 50,000-file tree (see testutil.BenchTreeWalk;
// "names" describes the folders, as a walk's LOOKUPs do).
func BenchmarkTreeWalk(b *testing.B) {
	testutil.BenchTreeWalk(b, treeImage(b), 51021, 50000, func(r io.ReaderAt, size int64, how testutil.WalkHow, buf []byte) (int, int, error) {
		v, err := NewFS(r, size)
		if err != nil {
			return 0, 0, err
		}
		root, err := v.Stat(".")
		if err != nil {
			return 0, 0, err
		}
		return fuseWalk(v, ".", root, how, buf)
	})
}

// bigImage returns the volume of the ext4 `ls -l` benchmark
// (testdata/perf/bigdir-ext4.sh: 100,000 empty files in big/, written
// through the kernel, so root only).
func bigImage(b *testing.B) *os.File {
	b.Helper()
	if os.Geteuid() != 0 {
		testutil.Unavailable(b, "bigdir-ext4.sh writes through a loop mount: root only")
	}
	testutil.NeedTool(b, "mkfs.ext4")
	unlock := testutil.LockFixtures(b)
	out := testutil.OutDir("perf")
	script := filepath.Join(testutil.RepoRoot(), "testdata", "perf", "bigdir-ext4.sh")
	if o, err := exec.Command("bash", script, out).CombinedOutput(); err != nil {
		unlock()
		b.Fatalf("bigdir-ext4.sh: %v\n%s", err, o)
	}
	unlock()
	f, err := os.Open(filepath.Join(out, "big-ext4.img"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

// BenchmarkBigDirLookup is `ls -l` of the 100,000-entry folder from a
// freshly opened FS: the listing, then every entry described from the
// folder's FileInfo, and its extended attributes read (ls asks for two).
func BenchmarkBigDirLookup(b *testing.B) {
	f := bigImage(b)
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	cr := testutil.NewCountingReader(f)
	b.ReportAllocs()
	var n int
	for i := 0; i < b.N; i++ {
		v, err := NewFS(cr, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		dir, err := v.Stat("big")
		if err != nil {
			b.Fatal(err)
		}
		ents, err := v.ReadDir("big")
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range ents {
			fi, err := v.LookupIn(dir, e.Name())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := fi.Sys().(*FileInfo).Xattrs(); err != nil {
				b.Fatal(err)
			}
		}
		n = len(ents)
	}
	if n != 100000 {
		b.Fatalf("%d entries", n)
	}
	cr.Report(b)
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
}
