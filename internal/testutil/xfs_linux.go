package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// XFSImage returns testdata/out/xfs/VARIANT.img, building it with
// testdata/xfs/gen.sh when missing (see testdata/xfs/README.md). The
// images are written through loop mounts, so this needs root; without it
// the test is skipped (failed in CI). A file lock keeps parallel test
// binaries from building the same image twice.
func XFSImage(t testing.TB, variant string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "the XFS test images are written through loop mounts: root only")
	}
	for _, tool := range []string{"mkfs.xfs", "xfs_io", "setfattr", "losetup", "mount", "fsfreeze"} {
		NeedTool(t, tool)
	}
	out := filepath.Join(RepoRoot(), "testdata", "out", "xfs")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(out, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	img := filepath.Join(out, variant+".img")
	if _, err := os.Stat(img); err == nil {
		return img
	}
	gen := filepath.Join(RepoRoot(), "testdata", "xfs", "gen.sh")
	if b, err := exec.Command("bash", gen, out, variant).CombinedOutput(); err != nil {
		t.Fatalf("gen.sh %s: %v\n%s", variant, err, b)
	}
	return img
}
