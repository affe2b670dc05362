//go:build linux

package xfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// needRoot skips (fails in CI) unless the test may loop-mount images.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "loop mounts need root")
	}
	testutil.NeedTool(t, "losetup")
	testutil.NeedTool(t, "mount")
}

// fixture returns testdata/out/xfs/VARIANT.img, building it with
// testdata/xfs/gen.sh when missing. A file lock keeps parallel test
// binaries from building the same image twice.
func fixture(t testing.TB, variant string) string {
	t.Helper()
	needRoot(t)
	testutil.NeedTool(t, "mkfs.xfs")
	testutil.NeedTool(t, "xfs_io")
	testutil.NeedTool(t, "setfattr")
	out := filepath.Join(testutil.RepoRoot(), "testdata", "out", "xfs")
	img := filepath.Join(out, variant+".img")
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
	if _, err := os.Stat(img); err == nil {
		return img
	}
	gen := filepath.Join(testutil.RepoRoot(), "testdata", "xfs", "gen.sh")
	if b, err := exec.Command("bash", gen, out, variant).CombinedOutput(); err != nil {
		t.Fatalf("gen.sh %s: %v\n%s", variant, err, b)
	}
	return img
}

// fixtureIfBuilt names a fixture image without building it.
func fixtureIfBuilt(variant string) string {
	return filepath.Join(testutil.RepoRoot(), "testdata", "out", "xfs", variant+".img")
}

// kernelMount attaches img to a read-only loop device and mounts it
// read-only with the given extra options, in a temp folder; both are
// undone at cleanup. It returns the mount point.
func kernelMount(t testing.TB, img string, opts ...string) string {
	return kernelMountDev(t, img, true, opts...)
}

// kernelMountDev is kernelMount with a writable loop device when ro is
// false: the kernel replays a dirty log only when it can write it.
func kernelMountDev(t testing.TB, img string, ro bool, opts ...string) string {
	t.Helper()
	needRoot(t)
	args := []string{"-f", "--show", img}
	if ro {
		args = append([]string{"-r"}, args...)
	}
	dev := strings.TrimSpace(string(testutil.Run(t, "losetup", args...)))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	mnt := t.TempDir()
	// nouuid: the fixtures share one UUID and may be mounted at once.
	o := strings.Join(append([]string{"ro", "nouuid"}, opts...), ",")
	if b, err := exec.Command("mount", "-t", "xfs", "-o", o, dev, mnt).CombinedOutput(); err != nil {
		testutil.Unavailable(t, "the kernel cannot mount "+img+": "+strings.TrimSpace(string(b)))
	}
	t.Cleanup(func() {
		if b, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, b)
		}
	})
	return mnt
}

// openFixture opens an image with this package.
func openFixture(t testing.TB, img string) *FS {
	t.Helper()
	v, err := Open(img)
	if err != nil {
		t.Fatalf("Open %s: %v", img, err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}
