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
// the test is skipped (failed in CI).
func XFSImage(t testing.TB, variant string) string {
	t.Helper()
	return loopImage(t, "xfs", variant, "mkfs.xfs", "xfs_io", "setfattr", "losetup", "mount", "fsfreeze")
}

// ExtImage returns testdata/out/ext/VARIANT.img, building it with
// testdata/ext/gen.sh when missing (see testdata/ext/README.md), through
// loop mounts like XFSImage.
func ExtImage(t testing.TB, variant string) string {
	t.Helper()
	return loopImage(t, "ext", variant, "mke2fs", "setfattr", "losetup", "mount")
}

// loopImage builds testdata/out/AREA/VARIANT.img with testdata/AREA/gen.sh
// when missing. A file lock keeps parallel test binaries from building
// the same image twice.
func loopImage(t testing.TB, area, variant string, tools ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "the "+area+" test images are written through loop mounts: root only")
	}
	for _, tool := range tools {
		NeedTool(t, tool)
	}
	out := filepath.Join(RepoRoot(), "testdata", "out", area)
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
	gen := filepath.Join(RepoRoot(), "testdata", area, "gen.sh")
	if b, err := exec.Command("bash", gen, out, variant).CombinedOutput(); err != nil {
		t.Fatalf("%s/gen.sh %s: %v\n%s", area, variant, err, b)
	}
	return img
}

// ExFATImage returns testdata/out/exfat/VARIANT.img, building it with
// testdata/exfat/gen.sh when missing (see testdata/exfat/README.md): the
// tree is written through mount.exfat-fuse on a loop device.
func ExFATImage(t testing.TB, variant string) string {
	t.Helper()
	NeedFUSE(t)
	return loopImage(t, "exfat", variant, "mkfs.exfat", "tune.exfat", "fsck.exfat", "mount.exfat-fuse", "fusermount", "losetup")
}
