package guest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

var (
	imagesOnce sync.Once
	imagesErr  error
)

// imageDir returns testdata/out/guest, running testdata/guest/gen.sh first
// when the images are missing or older than the script.
func imageDir(t testing.TB) string {
	t.Helper()
	root := testutil.RepoRoot()
	out := filepath.Join(root, "testdata", "out", "guest")
	script := filepath.Join(root, "testdata", "guest", "gen.sh")
	for _, tool := range []string{"sgdisk", "sfdisk", "mkfs.fat", "mcopy", "mkfs.ext4", "debugfs", "mkntfs", "xorriso"} {
		testutil.NeedTool(t, tool)
	}
	imagesOnce.Do(func() {
		done, err := os.Stat(filepath.Join(out, ".done"))
		src, serr := os.Stat(script)
		if err == nil && serr == nil && !src.ModTime().After(done.ModTime()) {
			return
		}
		cmd := exec.Command("sh", script, out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Logf("gen.sh: %v\n%s", err, b)
			imagesErr = err
		}
	})
	if imagesErr != nil {
		t.Fatalf("building test images: %v", imagesErr)
	}
	return out
}

// openImage opens a generated image read-only.
func openImage(t testing.TB, name string) (*os.File, int64) {
	t.Helper()
	f, err := os.Open(filepath.Join(imageDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return f, st.Size()
}
