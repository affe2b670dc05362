//go:build linux

package xfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// fixture returns testdata/out/xfs/VARIANT.img, built when missing.
func fixture(t testing.TB, variant string) string {
	t.Helper()
	return testutil.XFSImage(t, variant)
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
