package ext

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestInfoKeepsPiece: a FileInfo a caller keeps (a FUSE node keeps one
// per file) keeps the 4 KiB piece of the inode table its inode lies in,
// not the 32 KiB read with it: one file in 64 kept (a piece each) costs a
// few KiB each once the caches are dropped, where it cost 32 KiB.
func TestInfoKeepsPiece(t *testing.T) {
	tree := t.TempDir()
	for d := range 64 {
		for f := range 64 {
			p := filepath.Join(tree, fmt.Sprintf("d%02d", d), fmt.Sprintf("f%02d", f))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	img := filepath.Join(t.TempDir(), "ext4.img")
	testutil.Run(t, testutil.NeedTool(t, "mke2fs"), "-q", "-F", "-t", "ext4", "-I", "256", "-E", "root_owner=0:0", "-d", tree, img, "32M")
	v, err := Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var kept []fs.FileInfo
	n := 0
	err = fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if n++; n%64 == 0 {
			kept = append(kept, fi)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	v.chunks.Clear()
	v.dirs.Clear()
	before := liveHeap()
	runtime.KeepAlive(kept)
	k := len(kept)
	kept = nil
	each := (before - liveHeap()) / int64(k)
	t.Logf("%d of %d FileInfos kept: %d bytes each", k, n, each)
	if each > 8<<10 {
		t.Errorf("a FileInfo kept keeps %d bytes", each)
	}
}

// liveHeap returns the bytes of live heap after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
