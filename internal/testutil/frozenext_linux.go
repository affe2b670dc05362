//go:build linux

package testutil

import (
	"os"
	"strings"
	"testing"
)

// FrozenExtImage builds (once) testdata/jbd2/gen.sh's VARIANT: an ext
// volume copied while mounted, right after fsyncs, so that its journal
// holds transactions not yet written back. It returns the image and the
// kernel's replay of a copy of it. The images are written through loop
// mounts: root only (skipped outside CI, failed in it).
func FrozenExtImage(t testing.TB, variant string) (img, replayed string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "the frozen ext images are written through loop mounts: root only")
	}
	for _, tool := range []string{"mkfs.ext4", "mkfs.ext3", "debugfs", "dumpe2fs", "losetup", "mount"} {
		NeedTool(t, tool)
	}
	img, err := BuildFixture("jbd2", variant+".img", variant)
	if err != nil {
		t.Fatal(err)
	}
	return img, strings.TrimSuffix(img, ".img") + ".replayed.img"
}
