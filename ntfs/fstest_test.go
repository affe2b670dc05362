package ntfs

import (
	"testing"
	"testing/fstest"
)

// TestFSConformance runs io/fs's own conformance checks over a whole
// volume (tiny.img: hard links, a stream, a sparse file, a symlink, a
// compressed directory): sorted listings, Stat agreeing with directory
// entries, files read the same through Read, ReadAt and Seek. (small.img
// holds files that are unreadable on purpose, such as a WIMBoot file,
// which TestFS counts as failures, and takes a minute to check.)
func TestFSConformance(t *testing.T) {
	v := openImage(t, "tiny")
	if err := fstest.TestFS(v, "hello.txt", "dir/hardlink", "dir/data.bin", "sparse", "z/text.txt"); err != nil {
		t.Fatal(err)
	}
}
