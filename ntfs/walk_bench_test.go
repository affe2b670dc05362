package ntfs

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
// measured on the reader alone, with what reaches the volume's file
// counted (reads, bytes, and the distinct 4 KiB pages and 64 KiB
// stretches touched: a disk below pays about one seek per stretch, and
// the VHDX layer reads 64 KiB around a read that continues no stream).

// treeNTFS returns the 50,000-file NTFS volume of the tree-walk
// benchmarks (testdata/perf/tree.sh, written through ntfs-3g: minutes the
// first time), built when missing or made by an older script.
func treeNTFS(b *testing.B) *os.File {
	b.Helper()
	for _, tool := range []string{"mkntfs", "ntfs-3g"} {
		testutil.NeedTool(b, tool)
	}
	testutil.NeedFUSE(b)
	unlock := testutil.LockFixtures(b)
	out := testutil.OutDir("perf")
	script := filepath.Join(testutil.RepoRoot(), "testdata", "perf", "tree.sh")
	if o, err := exec.Command("bash", script, out, "ntfs").CombinedOutput(); err != nil {
		unlock()
		b.Fatalf("tree.sh: %v\n%s", err, o)
	}
	unlock()
	f, err := os.Open(filepath.Join(out, "tree-ntfs.img"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

// fuseWalk walks the directory at p (reference ref) as the mount does:
// the listing by path, each entry described by LookupIn from its
// directory, each file opened by record and read in 128 KiB requests.
// It returns the entries and files seen.
func fuseWalk(v *Volume, p string, ref Ref, how testutil.WalkHow, buf []byte) (ents, files int, err error) {
	list, err := v.ReadDir(p)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range list {
		ents++
		child := e.(*dirEntry).Ref()
		var fi fs.FileInfo
		if how >= testutil.WalkLookup {
			if fi, err = v.LookupIn(ref, e.Name()); err != nil {
				return ents, files, err
			}
			child = fi.Sys().(*FileRecordInfo).Ref
		}
		if e.IsDir() {
			n, f, err := fuseWalk(v, path.Join(p, e.Name()), child, how, buf)
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
		f, err := v.OpenRecord(child.Record, "")
		if err != nil {
			return ents, files, err
		}
		for off := int64(0); off < f.Size(); off += int64(len(buf)) {
			if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
				return ents, files, err
			}
		}
	}
	return ents, files, nil
}

// BenchmarkTreeWalk walks the 50,000-file tree (see testutil.BenchTreeWalk).
func BenchmarkTreeWalk(b *testing.B) {
	testutil.BenchTreeWalk(b, treeNTFS(b), 51020, 50000, func(r io.ReaderAt, size int64, how testutil.WalkHow, buf []byte) (int, int, error) {
		v, err := NewVolume(r, size)
		if err != nil {
			return 0, 0, err
		}
		return fuseWalk(v, ".", Ref{Record: rootRecord}, how, buf)
	})
}

// BenchmarkBigDirLookup is `ls -l` of the 100,000-entry directory of
// big.img from a freshly opened volume: the listing, then every entry
// described from the directory's reference, with its extended attributes
// (ls asks for two of every file).
func BenchmarkBigDirLookup(b *testing.B) {
	p := image(b, "big")
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	cr := testutil.NewCountingReader(f)
	b.ReportAllocs()
	var n int
	for i := 0; i < b.N; i++ {
		v, err := NewVolume(cr, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		dir, err := v.Stat("huge")
		if err != nil {
			b.Fatal(err)
		}
		ref := dir.Sys().(*FileRecordInfo).Ref
		ents, err := v.ReadDir("huge")
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range ents {
			fi, err := v.LookupIn(ref, e.Name())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := fi.Sys().(*FileRecordInfo).Xattrs(); err != nil {
				b.Fatal(err)
			}
		}
		n = len(ents)
	}
	cr.Report(b)
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
}
