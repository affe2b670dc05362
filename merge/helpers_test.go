package merge

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// mkChild makes an empty differencing disk over parent.
func mkChild(t *testing.T, parent, name string) {
	t.Helper()
	d, err := vhdx.OpenDisk(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	w, err := vhdx.Create(name, vhdx.CreateOptions{Parent: d, ParentPath: parent})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// vhdiMount mounts image with libvhdi's vhdimount for the test and
// returns the image's own virtual disk (vhdi<layers>, base first).
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
