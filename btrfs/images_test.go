package btrfs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// BuildImages builds testdata/btrfs/gen.sh's images once (the script
// locks its output folder against concurrent builds) and returns their
// folder. It is exported for the package's external tests.
func BuildImages(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "building btrfs images needs root (loop mounts)")
	}
	for _, tool := range []string{"mkfs.btrfs", "btrfs", "losetup", "setfattr", "openssl", "flock"} {
		testutil.NeedTool(t, tool)
	}
	out := filepath.Join(testutil.RepoRoot(), "testdata", "out", "btrfs")
	buildOnce.Do(func() {
		cmd := exec.Command("bash", filepath.Join(testutil.RepoRoot(), "testdata", "btrfs", "gen.sh"), out)
		b, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = errors.New(err.Error() + "\n" + string(b))
		}
	})
	if buildErr != nil {
		t.Fatalf("gen.sh: %v", buildErr)
	}
	return out
}

var (
	buildOnce sync.Once
	buildErr  error
)

// ExtentKinds counts the kinds of extents of an open file ("inline",
// "inline-zlib", "regular", "zstd", "prealloc", "hole"), for tests that
// check the images exercise each path.
func ExtentKinds(f *File) map[string]int {
	out := map[string]int{}
	if err := f.data.load(); err != nil {
		return out
	}
	comp := []string{"", "zlib", "lzo", "zstd"}
	for _, e := range f.data.exts {
		k := ""
		switch {
		case e.typ == extInline:
			k = "inline"
		case e.typ == extPrealloc:
			k = "prealloc"
		case e.diskBytenr == 0:
			k = "hole"
		default:
			k = "regular"
		}
		if e.compression != compNone && int(e.compression) < len(comp) {
			k += "-" + comp[e.compression]
		}
		out[k]++
		if e.offset != 0 {
			out["offset"]++
		}
	}
	return out
}
