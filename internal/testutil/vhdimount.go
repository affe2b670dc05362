package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// VhdiMount mounts image with libvhdi's vhdimount for the test's duration
// and returns the path of the virtual disk it exposes for the image
// itself. vhdimount lists every parent too, base first (vhdi1), so the
// image is the highest-numbered entry, vhdi<layers>. It skips or fails
// (see Unavailable) without FUSE or vhdimount.
func VhdiMount(t testing.TB, image string, layers int) string {
	t.Helper()
	NeedFUSE(t)
	NeedTool(t, "vhdimount")
	mnt := t.TempDir()
	if out, err := exec.Command("vhdimount", image, mnt).CombinedOutput(); err != nil {
		t.Fatalf("vhdimount %s: %v\n%s", image, err, out)
	}
	t.Cleanup(func() {
		// The kernel may still hold the mount busy for a moment after
		// the test's last read; retry rather than leave it behind.
		for i := 0; i < 50; i++ {
			if exec.Command("fusermount3", "-u", mnt).Run() == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("could not unmount %s", mnt)
	})
	// vhdimount returns before its FUSE file system answers.
	disk := filepath.Join(mnt, fmt.Sprintf("vhdi%d", layers))
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(disk); err == nil {
			return disk
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("vhdimount did not expose %s", disk)
	return ""
}
