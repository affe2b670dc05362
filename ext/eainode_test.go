//go:build linux

package ext

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestEAInode reads xattr values kept in inodes of their own (ea_inode:
// values larger than a block) and compares every path with the kernel.
// They were refused as unsupported. Found by the cross-check (ext4 seed
// 17).
func TestEAInode(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "eainode.sh writes through a loop mount: root only")
	}
	for _, tool := range []string{"mke2fs", "setfattr", "losetup", "mount"} {
		testutil.NeedTool(t, tool)
	}
	img := filepath.Join(t.TempDir(), "eainode.img")
	script := filepath.Join(testutil.RepoRoot(), "testdata", "ext", "eainode.sh")
	if b, err := exec.Command("bash", script, img).CombinedOutput(); err != nil {
		t.Fatalf("eainode.sh: %v\n%s", err, b)
	}
	v := openImage(t, img)
	x, err := v.Xattrs("d")
	if err != nil || len(x["user.big"]) != 60000 {
		t.Fatalf("d: user.big of %d bytes (%v)", len(x["user.big"]), err)
	}
	if n := testutil.CompareWithKernel(t, v, kernelMount(t, img)); n < 4 {
		t.Errorf("only %d paths", n)
	}
}
