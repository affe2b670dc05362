package ext

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// ext4ContentTree writes the files every ext4 content test reads: sizes at the
// edges of inline data, blocks and 64 KiB; a file with holes; fast and
// slow symlinks, relative and absolute; a directory of many names; and a
// file large enough to need double indirect blocks in an ext2 block map.
func ext4ContentTree(t *testing.T, withSparse bool) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	put := func(name string, n int) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []int{0, 1, 59, 60, 61, 150, 1023, 1024, 1025, 4095, 4096, 4097, 65535, 65536, 65537, 69120, 300<<10 + 7, 1<<20 + 3} {
		put(fmt.Sprintf("sizes/f%d", n), n)
	}
	for i := range 300 {
		put(fmt.Sprintf("many/entry-with-a-longish-name-%04d", i), i%7)
	}
	for name, target := range map[string]string{
		"links/fast":     "../sizes/f4096",
		"links/slow":     "../sizes/" + strings.Repeat("x", 80) + "/../f1",
		"links/absolute": "/etc/passwd",
		"links/dot":      ".",
	} {
		if err := os.MkdirAll(filepath.Join(dir, "links"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if !withSparse {
		return ext4LostFound(t, dir)
	}
	// Holes: data at 0, 1 MiB and 3 MiB + 5 of a 4 MiB file.
	sparse, err := os.Create(filepath.Join(dir, "sparse.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 1 << 20, 3<<20 + 5} {
		b := make([]byte, 9000)
		for i := range b {
			b[i] = byte(rng.Uint32()) | 1
		}
		if _, err := sparse.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := sparse.Truncate(4 << 20); err != nil {
		t.Fatal(err)
	}
	sparse.Close()
	return ext4LostFound(t, dir)
}

// ext4LostFound makes the lost+found mkfs makes anyway: then the tree
// itself can be the reference where debugfs cannot be (inline data).
func ext4LostFound(t *testing.T, dir string) string {
	if err := os.Mkdir(filepath.Join(dir, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestExt4ContentAgainstDebugfs builds ext4, ext3 and ext2 volumes (block
// maps, indirect blocks), one with inline data and one with 1 KiB blocks
// from the same tree with mkfs -d, and compares every file's bytes and
// every link's target with what debugfs extracts. go-diskfs's own file
// reads failed this on ordinary files. debugfs (1.47) extracts an inline
// file padded to 60 bytes, so the inline volume is compared with the tree
// it was made from; that tree has no file ending in a hole, whose size
// mke2fs -O inline_data (1.47) records short.
func TestExt4ContentAgainstDebugfs(t *testing.T) {
	testutil.NeedTool(t, "debugfs")
	full, noSparse := ext4ContentTree(t, true), ext4ContentTree(t, false)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"ext4", []string{"-t", "ext4"}},
		{"ext4 1 KiB blocks", []string{"-t", "ext4", "-b", "1024"}},
		{"ext4 inline data", []string{"-t", "ext4", "-O", "inline_data"}},
		{"ext3", []string{"-t", "ext3", "-b", "1024"}},
		{"ext2", []string{"-t", "ext2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			inline := slices.Contains(c.args, "inline_data")
			tree := full
			if inline {
				tree = noSparse
			}
			img := filepath.Join(t.TempDir(), "img")
			testutil.Run(t, testutil.NeedTool(t, "mke2fs"), append(append([]string{"-q", "-F", "-E", "root_owner=0:0", "-d", tree}, c.args...), img, "24M")...)
			dump := tree
			if !inline {
				dump = t.TempDir()
				testutil.Run(t, "debugfs", "-R", "rdump / "+dump, img)
			}
			b, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			v := openBytes(t, b)
			compareExt4(t, v, dump)
			compareLinks(t, v, dump)
			compareMeta(t, v, tree)
			if !inline {
				checkRandomReads(t, v, filepath.Join(dump, "sparse.bin"), "sparse.bin")
			}
			checkRandomReads(t, v, filepath.Join(dump, "sizes", "f1048579"), "sizes/f1048579")
		})
	}
}

// compareLinks checks the target of every symlink debugfs extracted.
func compareLinks(t *testing.T, fsys fs.FS, dump string) {
	t.Helper()
	rl, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		t.Fatal("the volume cannot read links")
	}
	links := 0
	err := filepath.WalkDir(dump, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		rel, _ := filepath.Rel(dump, p)
		want, _ := os.Readlink(p)
		got, err := rl.ReadLink(rel)
		if err != nil || got != want {
			t.Errorf("%s: target %q (%v), debugfs has %q", rel, got, err, want)
		}
		links++
		return nil
	})
	if err != nil || links < 4 {
		t.Errorf("%d links compared (%v)", links, err)
	}
}

// compareMeta checks the permission bits and modification times, which
// mke2fs -d copies from the tree, of every file, directory and link.
func compareMeta(t *testing.T, fsys fs.FS, tree string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == tree {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		want, err := os.Lstat(p)
		if err != nil {
			return err
		}
		got, err := fsys.(fs.ReadLinkFS).Lstat(rel)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if got.Mode() != want.Mode() || !got.ModTime().Equal(want.ModTime().Truncate(time.Second)) && !got.ModTime().Equal(want.ModTime()) {
			t.Errorf("%s: mode %v, mtime %v; the tree has %v, %v", rel, got.Mode(), got.ModTime(), want.Mode(), want.ModTime())
		}
		n++
		return nil
	})
	if err != nil || n < 20 {
		t.Errorf("%d entries compared (%v)", n, err)
	}
}

// checkRandomReads reads pieces of a file at random offsets through
// ReadAt and compares them with the extracted copy.
func checkRandomReads(t *testing.T, fsys fs.FS, extracted, name string) {
	t.Helper()
	want, err := os.ReadFile(extracted)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	testutil.CheckReadAt(t, f.(io.ReaderAt), want, 300, 20000, 5)
}

// openBytes opens an image held in memory.
func openBytes(t testing.TB, b []byte) *FS {
	t.Helper()
	v, err := NewFS(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
