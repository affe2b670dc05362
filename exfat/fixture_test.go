//go:build linux

package exfat

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// variants are the images of testdata/exfat/gen.sh the oracle tests read.
var variants = []string{"c512", "c4k", "c128k", "tz"}

// fixture returns testdata/out/exfat/VARIANT.img, built when missing.
func fixture(t testing.TB, variant string) string {
	t.Helper()
	return testutil.ExFATImage(t, variant)
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

// fuseMount mounts img read-only with mount.exfat-fuse (on a read-only
// loop device: as root exfat-fuse wants a block device) in a temp folder,
// with TZ as the image was written in; both are undone at cleanup.
func fuseMount(t testing.TB, img, tz string) string {
	t.Helper()
	testutil.NeedFUSE(t)
	testutil.NeedTool(t, "mount.exfat-fuse")
	testutil.NeedTool(t, "losetup")
	dev := strings.TrimSpace(string(testutil.Run(t, "losetup", "-r", "-f", "--show", img)))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	mnt := t.TempDir()
	cmd := exec.Command("mount.exfat-fuse", "-o", "ro", dev, mnt)
	cmd.Env = append(os.Environ(), "TZ="+tz)
	if b, err := cmd.CombinedOutput(); err != nil {
		testutil.Unavailable(t, "mount.exfat-fuse "+img+": "+strings.TrimSpace(string(b)))
	}
	t.Cleanup(func() {
		if b, err := exec.Command("fusermount", "-u", mnt).CombinedOutput(); err != nil {
			t.Errorf("fusermount -u %s: %v %s", mnt, err, b)
		}
	})
	return mnt
}

// tzOf is the zone a variant's tree was written in.
func tzOf(variant string) string {
	if variant == "tz" {
		return "Asia/Kolkata"
	}
	return "UTC"
}
