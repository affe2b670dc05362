package export

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// vhdiMount mounts image with libvhdi's vhdimount for the test's duration
// and returns the path of the image's own virtual disk (vhdimount lists
// the chain base first, so the image is vhdi<layers>).
func vhdiMount(t testing.TB, image string, layers int) string {
	t.Helper()
	testutil.NeedFUSE(t)
	testutil.NeedTool(t, "vhdimount")
	mnt := t.TempDir()
	if out, err := exec.Command("vhdimount", image, mnt).CombinedOutput(); err != nil {
		t.Fatalf("vhdimount %s: %v\n%s", image, err, out)
	}
	t.Cleanup(func() {
		for i := 0; i < 50; i++ {
			if exec.Command("fusermount3", "-u", mnt).Run() == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("could not unmount %s", mnt)
	})
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
