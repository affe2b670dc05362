package guest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestExtFSConformance runs io/fs's own conformance checks over ext
// volumes made by mke2fs -d, ext4 and ext2 (package ext, through the
// adapter): sorted listings, Stat agreeing with
// directory entries, files read the same through Read, ReadAt and Seek.
func TestExtFSConformance(t *testing.T) {
	testutil.NeedTool(t, "mke2fs")
	tree := t.TempDir()
	files := map[string]string{"a.txt": "alpha\n", "d/b.txt": "beta\n", "d/e/c.bin": string(make([]byte, 70000)),
		"empty": ""}
	for name, data := range files {
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.txt", filepath.Join(tree, "link")); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"ext4", "ext2"} {
		t.Run(kind, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "img")
			testutil.Run(t, "mke2fs", "-q", "-F", "-t", kind, "-d", tree, img, "8M")
			f, err := os.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			vols, err := Volumes(f, st.Size(), "D")
			if err != nil || len(vols) != 1 || vols[0].FS == nil {
				t.Fatalf("volumes %v %v", vols, err)
			}
			if err := fstest.TestFS(vols[0].FS, "a.txt", "d/b.txt", "d/e/c.bin", "empty", "link"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestExtLinkLoops: Open and Stat follow links, a loop only so far.
func TestExtLinkLoops(t *testing.T) {
	testutil.NeedTool(t, "mke2fs")
	tree := t.TempDir()
	for link, target := range map[string]string{"self": "self", "a": "b", "b": "a", "up": "../../../etc/x", "x": "/d", "d/y": "../x"} {
		os.MkdirAll(filepath.Join(tree, filepath.Dir(link)), 0o755)
		if err := os.Symlink(target, filepath.Join(tree, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(tree, "d", "f"), []byte("in d"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "img")
	testutil.Run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "8M")
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	vols, err := Volumes(f, st.Size(), "D")
	if err != nil || len(vols) != 1 || vols[0].FS == nil {
		t.Fatalf("volumes %v %v", vols, err)
	}
	fsys := vols[0].FS
	for _, name := range []string{"self", "a", "up"} {
		if _, err := fsys.Open(name); err == nil {
			t.Errorf("%s: opened", name)
		}
		if _, err := fs.Stat(fsys, name); err == nil {
			t.Errorf("%s: stat followed", name)
		}
	}
	// x -> /d (the volume root's d), d/y -> ../x: both name d.
	for _, name := range []string{"x", "d/y"} {
		if ents, err := fs.ReadDir(fsys, name); err != nil || len(ents) != 2 {
			t.Errorf("%s: %v %v", name, ents, err)
		}
		if fi, err := fs.Stat(fsys, name); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v %v", name, fi, err)
		}
	}
}
