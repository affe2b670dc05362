//go:build linux

package fs

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestMountWSL mounts the WSL volume of testdata/ntfs/wsl.sh and compares
// its special files with ntfs-3g's view, and WSL owners, modes, link
// targets and reparse xattrs with what the script wrote.
func TestMountWSL(t *testing.T) {
	for _, tool := range []string{"mkntfs", "ntfs-3g", "setfattr", "python3"} {
		testutil.NeedTool(t, tool)
	}
	testutil.NeedFUSE(t)
	img := filepath.Join(t.TempDir(), "wsl.img")
	script := filepath.Join(testutil.RepoRoot(), "testdata", "ntfs", "wsl.sh")
	if out, err := exec.Command("bash", script, img).CombinedOutput(); err != nil {
		t.Fatalf("wsl.sh: %v\n%s", err, out)
	}
	ours := filepath.Join(mountImage(t, img), "checkpoints", "Now", "Disk0-vol")
	theirs := mountNTFS3G(t, img)
	lstat := func(p string) *syscall.Stat_t {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		return &st
	}
	for _, p := range []string{"fifo", "sock", "chr", "blk"} {
		a, b := lstat(filepath.Join(ours, p)), lstat(filepath.Join(theirs, p))
		if a.Mode&syscall.S_IFMT != b.Mode&syscall.S_IFMT || a.Rdev != b.Rdev {
			t.Errorf("%s: mode %o rdev %#x, ntfs-3g %o %#x", p, a.Mode, a.Rdev, b.Mode, b.Rdev)
		}
	}
	ents, err := os.ReadDir(ours)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == "fifo" && e.Type() != os.ModeNamedPipe {
			t.Errorf("fifo listed as %v", e.Type())
		}
	}
	for p, want := range map[string][3]uint32{"owned.txt": {syscall.S_IFREG | 0o640, 1000, 1001}, "owned-dir": {syscall.S_IFDIR | 0o2750, 0, 27}} {
		st := lstat(filepath.Join(ours, p))
		if [3]uint32{st.Mode, st.Uid, st.Gid} != want {
			t.Errorf("%s: mode %o uid %d gid %d, want %o %d %d", p, st.Mode, st.Uid, st.Gid, want[0], want[1], want[2])
		}
	}
	for link, want := range map[string]string{
		"rel-link": "target.txt", "abs-link": "etc/passwd", "up-link": "escape",
		"dir/up-link": "../target.txt", "utf8-link": "dir/été.txt",
	} {
		if got, err := os.Readlink(filepath.Join(ours, link)); err != nil || got != want {
			t.Errorf("%s -> %q, %v; want %q", link, got, err, want)
		}
	}
	if got, err := os.ReadFile(filepath.Join(ours, "rel-link")); err != nil || string(got) != "hello from wsl\n" {
		t.Errorf("through rel-link: %q, %v", got, err)
	}
	if v := xattrOf(t, filepath.Join(ours, "alias.exe"), "user.ckptfs.reparse"); len(v) < 8 || v[0] != 0x1b {
		t.Errorf("alias.exe: reparse xattr %x", v)
	}
	if got, err := os.ReadFile(filepath.Join(ours, "alias.exe")); err != nil || string(got) != "alias data" {
		t.Errorf("alias.exe: %q, %v", got, err)
	}
}
