//go:build linux

package fs

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

func TestSeekIn(t *testing.T) {
	data := func(off, n int64) guest.Extent { return guest.Extent{FileOff: off, VolOff: 1000 + off, Len: n} }
	hole := func(off, n int64) guest.Extent {
		return guest.Extent{FileOff: off, VolOff: -1, Len: n, Kind: guest.ExtentAbsent}
	}
	zero := func(off, n int64) guest.Extent {
		return guest.Extent{FileOff: off, VolOff: 9, Len: n, Kind: guest.ExtentZero}
	}
	// data [0,10), hole [10,20), gap [20,30), zero [30,40), data [40,50), past the size 45.
	exts := []guest.Extent{data(0, 10), hole(10, 10), zero(30, 10), data(40, 10)}
	for _, c := range []struct {
		off      int64
		wantData bool
		pos      int64
		ok       bool
	}{
		{0, true, 0, true}, {0, false, 10, true}, {5, false, 10, true},
		{10, true, 40, true}, {15, false, 15, true}, {25, true, 40, true}, {25, false, 25, true},
		{40, true, 40, true}, {40, false, 45, true}, {44, false, 45, true},
	} {
		pos, ok := seekIn(exts, c.off, 45, c.wantData)
		if pos != c.pos || ok != c.ok {
			t.Errorf("seek(%d, data=%v) = %d %v, want %d %v", c.off, c.wantData, pos, ok, c.pos, c.ok)
		}
	}
	if _, ok := seekIn([]guest.Extent{data(0, 10), hole(10, 90)}, 10, 100, true); ok {
		t.Error("SEEK_DATA in a trailing hole found data")
	}
	if pos, ok := seekIn([]guest.Extent{data(0, 10)}, 20, 100, false); !ok || pos != 20 {
		t.Errorf("SEEK_HOLE past the extents: %d %v", pos, ok)
	}
	if pos, ok := seekIn(nil, 20, 100, false); !ok || pos != 100 {
		t.Errorf("SEEK_HOLE without extents: %d %v", pos, ok)
	}
}

// seekPos runs lseek(2) on p; -1 for ENXIO.
func seekPos(t *testing.T, p string, off int64, whence int) int64 {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pos, err := f.Seek(off, whence)
	if errors.Is(err, syscall.ENXIO) {
		return -1
	}
	if err != nil {
		t.Fatalf("lseek %s %d %d: %v", p, off, whence, err)
	}
	return pos
}

// checkSeeks checks lseek positions: {off, SEEK_DATA, SEEK_HOLE} triples.
func checkSeeks(t *testing.T, p string, want [][3]int64) {
	t.Helper()
	const seekData, seekHole = 3, 4
	for _, w := range want {
		if d, h := seekPos(t, p, w[0], seekData), seekPos(t, p, w[0], seekHole); d != w[1] || h != w[2] {
			t.Errorf("%s at %d: SEEK_DATA %d SEEK_HOLE %d, want %d %d", filepath.Base(p), w[0], d, h, w[1], w[2])
		}
	}
}

func blocksOf(t *testing.T, p string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks
}

// TestMountNTFSSparse compares st_blocks of every file of the NTFS image
// with ntfs-3g's, and finds the holes of sparse.bin, which ntfs-3g wrote
// with data at 0 (10,000 bytes) and at 8 MiB (5,000 bytes) of 20 MiB, in
// 4 KiB clusters.
func TestMountNTFSSparse(t *testing.T) {
	img := ntfsImage(t)
	ours := filepath.Join(mountImage(t, img), "checkpoints", "Now", "Disk0-vol")
	theirs := mountNTFS3G(t, img)
	compared := 0
	err := filepath.WalkDir(theirs, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(theirs, p)
		if got, want := blocksOf(t, filepath.Join(ours, rel)), blocksOf(t, p); got != want {
			t.Errorf("%s: %d blocks, ntfs-3g %d", rel, got, want)
		}
		compared++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compared st_blocks of %d files", compared)
	const mib = 1 << 20
	checkSeeks(t, filepath.Join(ours, "sparse.bin"), [][3]int64{
		{0, 0, 12288}, {100, 100, 12288}, {12288, 8 * mib, 12288}, {8 * mib, 8 * mib, 8*mib + 8192},
		{8*mib + 8192, -1, 8*mib + 8192}, {20*mib - 1, -1, 20*mib - 1}, {20 * mib, -1, -1},
	})
	// A file without holes is all data; a compressed one too (the sparse
	// runs of its compression units are not holes of the file).
	checkSeeks(t, filepath.Join(ours, "hello.txt"), [][3]int64{{0, 0, 12}})
	if fi, err := os.Stat(filepath.Join(ours, "compressed", "text.txt")); err == nil {
		checkSeeks(t, filepath.Join(ours, "compressed", "text.txt"), [][3]int64{{0, 0, fi.Size()}})
	}
}

// TestMountExtSparse mounts an ext4 volume made by mke2fs -d from a tree
// with a sparse file (mke2fs leaves its zero blocks out): st_blocks is
// the inode's block count as debugfs reads it, and SEEK_DATA/SEEK_HOLE
// find the two data blocks.
func TestMountExtSparse(t *testing.T) {
	testutil.NeedTool(t, "mke2fs")
	debugfs := testutil.NeedTool(t, "debugfs")
	tree := t.TempDir()
	const mib = 1 << 20
	sparse := make([]byte, 3*mib)
	copy(sparse, bytes.Repeat([]byte("head"), 1024))
	copy(sparse[mib:], bytes.Repeat([]byte("midl"), 1024))
	if err := os.WriteFile(filepath.Join(tree, "sparse.bin"), sparse, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "full.bin"), bytes.Repeat([]byte("x"), 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	xattrs := syscall.Setxattr(filepath.Join(tree, "full.bin"), "user.note", []byte("from the guest"), 0) == nil
	img := filepath.Join(t.TempDir(), "img")
	testutil.Run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-d", tree, img, "16M")
	vol := filepath.Join(mountImage(t, img), "checkpoints", "Base", "Disk0-vol")
	for _, name := range []string{"sparse.bin", "full.bin"} {
		out, err := exec.Command(debugfs, "-R", "stat /"+name, img).Output()
		if err != nil {
			t.Fatalf("debugfs: %v", err)
		}
		m := regexp.MustCompile(`Blockcount: (\d+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("debugfs stat %s:\n%s", name, out)
		}
		want, _ := strconv.ParseInt(string(m[1]), 10, 64)
		if got := blocksOf(t, filepath.Join(vol, name)); got != want {
			t.Errorf("%s: %d blocks, debugfs %d", name, got, want)
		}
	}
	checkSeeks(t, filepath.Join(vol, "sparse.bin"), [][3]int64{
		{0, 0, 4096}, {4096, mib, 4096}, {mib, mib, mib + 4096}, {mib + 4096, -1, mib + 4096}, {3 * mib, -1, -1},
	})
	checkSeeks(t, filepath.Join(vol, "full.bin"), [][3]int64{{0, 0, 10000}, {9999, 9999, 10000}})
	if got, err := os.ReadFile(filepath.Join(vol, "sparse.bin")); err != nil || !bytes.Equal(got, sparse) {
		t.Errorf("sparse.bin: %d bytes, %v", len(got), err)
	}
	// The guest's own extended attributes (guest.Xattrer) are xattrs of
	// the mount.
	if xattrs {
		if got := xattrOf(t, filepath.Join(vol, "full.bin"), "user.note"); string(got) != "from the guest" {
			t.Errorf("user.note: %q", got)
		}
		buf := make([]byte, 1024)
		n, err := syscall.Listxattr(filepath.Join(vol, "full.bin"), buf)
		if err != nil || !strings.Contains("\x00"+string(buf[:max(n, 0)]), "\x00user.note\x00") {
			t.Errorf("listxattr: %q %v", buf[:max(n, 0)], err)
		}
	}
}
