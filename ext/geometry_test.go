//go:build linux

package ext

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestBigalloc1K reads volumes of 1 KiB blocks in 16 KiB clusters: their
// first data block is 0, yet the superblock is in block 1 and the group
// descriptors from block 2 (they were looked for in block 1), with the
// descriptors in one table or spread by meta_bg. Found by the cross-check
// (ext4 seed 2).
func TestBigalloc1K(t *testing.T) {
	testutil.NeedTool(t, "mke2fs")
	src := t.TempDir()
	want := bytes.Repeat([]byte("cluster "), 5000)
	if err := os.WriteFile(filepath.Join(src, "f"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, feats := range []string{"bigalloc", "bigalloc,meta_bg,^resize_inode"} {
		img := filepath.Join(t.TempDir(), "bigalloc1k.img")
		testutil.Run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-C", "16384", "-O", feats,
			"-E", "root_owner=0:0", "-d", src, img, "64M")
		v := openImage(t, img)
		if v.geo.firstDataBlock != 0 {
			t.Fatalf("%s: first data block %d, want 0", feats, v.geo.firstDataBlock)
		}
		got, err := v.readAll("f")
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: f reads %d bytes (%v), want %d", feats, len(got), err, len(want))
		}
	}
}
