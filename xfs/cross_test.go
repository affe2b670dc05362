//go:build linux

package xfs

import (
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestCross compares randomized XFS filesystems (testdata/cross/gen.sh:
// mkfs options and a history of operations drawn from a seed, some left
// with a dirty log) with the kernel's mount, path by path. make
// crosscheck runs many more seeds.
func TestCross(t *testing.T) {
	testutil.CrossCheck(t, testutil.CrossFS{
		Name:  "xfs",
		Tools: []string{"mkfs.xfs"},
		Open:  func(t testing.TB, img string) testutil.KernelFS { return openFixture(t, img) },
	})
}
