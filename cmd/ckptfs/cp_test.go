package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// rawDisk wraps a raw volume image as Disk0.vhdx (no partition table).
func rawDisk(t *testing.T, img string) string {
	t.Helper()
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "Disk0.vhdx")
	w, err := vhdx.Create(p, vhdx.CreateOptions{VirtualSize: int64(len(raw)+(1<<20)-1) &^ (1<<20 - 1), BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt(raw, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// resolvesInside follows a host symlink lexically (as the kernel would,
// step by step through links it meets) and reports whether it stays in top.
func resolvesInside(t *testing.T, link, top string) bool {
	t.Helper()
	p := link
	for range 40 {
		target, err := os.Readlink(p)
		if err != nil {
			break // not a link (or missing): p is where it lands
		}
		if filepath.IsAbs(target) {
			return false
		}
		p = filepath.Join(filepath.Dir(p), target)
		if !strings.HasPrefix(p, top+"/") && p != top {
			return false
		}
	}
	return strings.HasPrefix(p, top+"/") || p == top
}

// TestCpKeepsWhatTheMountShows copies an ext4 volume made by mke2fs -d:
// hard links come out as one inode, links are rewritten as the mount
// shows them and never reach a host path, and a sparse file stays sparse.
func TestCpKeepsWhatTheMountShows(t *testing.T) {
	testutil.NeedTool(t, "mke2fs")
	tree := t.TempDir()
	os.MkdirAll(filepath.Join(tree, "sub", "deep"), 0o755)
	os.WriteFile(filepath.Join(tree, "hl1"), []byte("linked"), 0o644)
	os.Link(filepath.Join(tree, "hl1"), filepath.Join(tree, "hl2"))
	os.Link(filepath.Join(tree, "hl1"), filepath.Join(tree, "sub", "hl3"))
	os.Symlink("/etc/passwd", filepath.Join(tree, "abs"))
	os.Symlink("../../../../../../etc/passwd", filepath.Join(tree, "sub", "deep", "climb"))
	os.Symlink("../../hl1", filepath.Join(tree, "sub", "deep", "up"))
	sparse := filepath.Join(tree, "sparse")
	f, _ := os.Create(sparse)
	f.WriteAt(bytes.Repeat([]byte{7}, 4096), 1<<20)
	f.Truncate(48 << 20)
	f.Close()
	img := filepath.Join(t.TempDir(), "ext.img")
	testutil.Run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "64M")
	src := rawDisk(t, img)

	dest := t.TempDir()
	if _, errs, code := ckptfs(t, "cp", src, "Now", "Disk0-vol", dest); code != exitOK {
		t.Fatalf("cp: %d %s", code, errs)
	}
	vol := filepath.Join(dest, "Disk0-vol")
	var ino [3]uint64
	for i, n := range []string{"hl1", "hl2", "sub/hl3"} {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(vol, n), &st); err != nil {
			t.Fatal(err)
		}
		ino[i] = st.Ino
	}
	if ino[0] != ino[1] || ino[0] != ino[2] {
		t.Errorf("hard links came out as inodes %v", ino)
	}
	for link, want := range map[string]string{"abs": "etc/passwd", "sub/deep/climb": "../../etc/passwd", "sub/deep/up": "../../hl1"} {
		got, err := os.Readlink(filepath.Join(vol, link))
		if err != nil || got != want {
			t.Errorf("%s -> %q (%v), the mount shows %q", link, got, err, want)
		}
		if !resolvesInside(t, filepath.Join(vol, link), vol) {
			t.Errorf("%s resolves outside the copy", link)
		}
	}
	// Copying only sub/deep: its links may not climb out of the copy.
	part := t.TempDir()
	if _, errs, code := ckptfs(t, "cp", src, "Now", "Disk0-vol/sub/deep", "Disk0-vol/abs", part); code != exitOK {
		t.Fatalf("cp sub/deep: %d %s", code, errs)
	}
	for _, link := range []string{"deep/climb", "deep/up", "abs"} {
		if !resolvesInside(t, filepath.Join(part, link), part) {
			got, _ := os.Readlink(filepath.Join(part, link))
			t.Errorf("%s -> %q resolves outside the copy %s", link, got, part)
		}
	}
	// The sparse file: same bytes, and a hole where the guest has one.
	want, _ := os.ReadFile(sparse)
	got, err := os.ReadFile(filepath.Join(vol, "sparse"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("sparse file content differs (%d bytes, %v)", len(got), err)
	}
	var st syscall.Stat_t
	syscall.Stat(filepath.Join(vol, "sparse"), &st)
	if st.Blocks*512 > 1<<20 {
		t.Errorf("sparse file takes %d bytes on the host (du), want about 4 KiB", st.Blocks*512)
	}
	fd, _ := os.Open(filepath.Join(vol, "sparse"))
	defer fd.Close()
	if off, err := fd.Seek(0, 4 /* SEEK_HOLE */); err != nil || off != 0 {
		t.Errorf("SEEK_HOLE from 0 = %d, %v; want a hole at 0", off, err)
	}
}

// TestCpNeverStopsHalfWay: a damaged file among good ones is named, not
// left behind partly written, and the others are copied; a stream too
// big for the host's xattrs (ENOSPC on ext4) is a failure too; the exit
// code is the first failure's and a summary ends the run.
func TestCpNeverStopsHalfWay(t *testing.T) {
	disk := ntfsDisk(t, func(raw []byte, mft int) {
		name := []byte("b\x00.\x00t\x00x\x00t\x00")
		at := bytes.Index(raw[mft:min(len(raw), mft+4<<20)], name)
		if at < 0 {
			t.Fatal("b.txt's record not found")
		}
		raw[mft+at/1024*1024+510] ^= 0xff
	}, "a.txt", "b.txt", "c.txt", "big.txt:bigstream")
	dest := t.TempDir()
	_, errs, code := ckptfs(t, "cp", "--xattrs", disk, "Now", "Disk0-vol", dest)
	if code != exitBadImage {
		t.Errorf("exit %d, want %d (the first failure's)\n%s", code, exitBadImage, errs)
	}
	for _, n := range []string{"a.txt", "c.txt", "big.txt"} {
		if b, err := os.ReadFile(filepath.Join(dest, "Disk0-vol", n)); err != nil || string(b) != n {
			t.Errorf("%s not copied: %q %v", n, b, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dest, "Disk0-vol", "b.txt")); !os.IsNotExist(err) {
		t.Errorf("the unreadable file was left behind: %v", err)
	}
	if !strings.Contains(errs, "b.txt: ") || !strings.Contains(errs, "bigstream") ||
		!strings.Contains(errs, "no space left on device") || !strings.Contains(errs, "copied 3, failed 2") {
		t.Errorf("stderr:\n%s", errs)
	}
}

// TestCpOddNames: names Linux cannot hold are copied under the mount's
// renaming rule; one of them does not stop the rest.
func TestCpOddNames(t *testing.T) {
	fsys := fstest.MapFS{
		"a":              {Data: []byte("a")},
		"bad\x00name":    {Data: []byte("nul")},
		"new\nline":      {Data: []byte("nl")},
		"z":              {Data: []byte("z")},
		"dir/inner":      {Data: []byte("in")},
		"dir/back\\sl":   {Data: []byte("bs")},
		"dir/esc\x1b[2J": {Data: []byte("esc")},
	}
	dest := t.TempDir()
	var errw bytes.Buffer
	stderr = &errw
	defer func() { stderr = os.Stderr }()
	c := copier{ctx: context.Background(), fsys: fsys, root: ".", links: map[string]string{}}
	c.copy(".", filepath.Join(dest, "out"))
	if c.failed != 0 {
		t.Errorf("%d failed: %s", c.failed, errw.String())
	}
	for name, want := range map[string]string{"a": "a", "bad_name": "nul", "new\nline": "nl", "z": "z", "dir/back\\sl": "bs", "dir/esc\x1b[2J": "esc"} {
		if b, err := os.ReadFile(filepath.Join(dest, "out", name)); err != nil || string(b) != want {
			t.Errorf("%q: %q %v", name, b, err)
		}
	}
}
