package testutil

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	btrfsOnce sync.Once
	btrfsErr  error
)

// BtrfsImages builds testdata/btrfs/gen.sh's images (as root: the kernel
// writes them through loop mounts) and returns their folder. The script
// locks the folder, so packages testing in parallel build them once.
func BtrfsImages(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "building btrfs images needs root (loop mounts)")
	}
	for _, tool := range []string{"mkfs.btrfs", "btrfs", "losetup", "setfattr", "openssl", "flock", "chattr"} {
		NeedTool(t, tool)
	}
	out := filepath.Join(RepoRoot(), "testdata", "out", "btrfs")
	btrfsOnce.Do(func() {
		cmd := exec.Command("bash", filepath.Join(RepoRoot(), "testdata", "btrfs", "gen.sh"), out)
		if b, err := cmd.CombinedOutput(); err != nil {
			btrfsErr = errors.New(err.Error() + "\n" + string(b))
		}
	})
	if btrfsErr != nil {
		t.Fatalf("testdata/btrfs/gen.sh: %v", btrfsErr)
	}
	return out
}
