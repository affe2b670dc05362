//go:build linux

package ext

import (
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestCross compares randomized ext2/3/4 filesystems (testdata/cross/gen.sh:
// mke2fs options and a history of operations drawn from a seed, some left
// with a journal to replay) with the kernel's mount, path by path. make
// crosscheck runs many more seeds.
func TestCross(t *testing.T) {
	testutil.CrossCheck(t, testutil.CrossFS{
		Name:  "ext4",
		Tools: []string{"mke2fs", "chattr"},
		Open:  func(t testing.TB, img string) testutil.KernelFS { return openImage(t, img) },
	})
}
