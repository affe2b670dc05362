//go:build linux

package xfs

import (
	"io/fs"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// The kernel comparison is shared with the other Linux readers.
type sysInfo = testutil.SysInfo

func compareWithKernel(t *testing.T, v *FS, mnt string) int {
	return testutil.CompareWithKernel(t, v, mnt)
}

func fileTypeBits(m fs.FileMode) uint32 { return testutil.FileTypeBits(m) }

// TestKernel compares every file of each mountable variant with the
// kernel's read-only loop mount of the same image.
func TestKernel(t *testing.T) {
	for _, variant := range []string{"v5", "v5-1k", "v5-64k", "v5-rhel8"} {
		t.Run(variant, func(t *testing.T) {
			t.Parallel() // mostly waiting on the disk: the variants overlap well
			img := fixture(t, variant)
			mnt := kernelMount(t, img)
			v := openFixture(t, img)
			if ls := v.LogState(); ls.Dirty {
				t.Errorf("clean image has log state %+v", ls)
			}
			n := compareWithKernel(t, v, mnt)
			t.Logf("%s: %d paths compared", variant, n)
			if n < 1000 {
				t.Errorf("only %d paths", n)
			}
		})
	}
}
