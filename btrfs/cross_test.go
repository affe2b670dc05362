//go:build linux

package btrfs_test

import (
	"io/fs"
	"testing"

	"github.com/ckptfs/ckptfs/btrfs"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestCross compares randomized btrfs filesystems (testdata/cross/gen.sh:
// mkfs and mount options and a history of operations drawn from a seed,
// subvolumes and snapshots among them, some copied while mounted with a
// log tree to replay) with the kernel's mount, path by path. make
// crosscheck runs many more seeds.
func TestCross(t *testing.T) {
	testutil.CrossCheck(t, testutil.CrossFS{
		Name:  "btrfs",
		Tools: []string{"mkfs.btrfs", "btrfs"},
		Open: func(t testing.TB, img string) testutil.KernelFS {
			v, _ := openImage(t, img)
			fsys, err := v.Subvolume(v.DefaultSubvolume())
			if err != nil {
				t.Fatalf("%s: %v", img, err)
			}
			return crossFS{fsys}
		},
		// The kernel's stand-in (inode 2) for a nested subvolume that a
		// snapshot left out has no inode of the filesystem behind it.
		SkipPath: func(p string) bool {
			var st unix.Stat_t
			return unix.Lstat(p, &st) == nil && st.Ino == 2
		},
	})
}

// crossFS shows the kernel's st_ino (the inode number within the
// subvolume) as the file ID the comparison checks; ours combines the
// subvolume too.
type crossFS struct{ *btrfs.FS }

func (c crossFS) Lstat(name string) (fs.FileInfo, error) {
	fi, err := c.FS.Lstat(name)
	if err != nil {
		return nil, err
	}
	return crossInfo{fi.(*btrfs.FileInfo)}, nil
}

type crossInfo struct{ *btrfs.FileInfo }

func (c crossInfo) Sys() any { return crossSys(c) }

type crossSys struct{ *btrfs.FileInfo }

func (c crossSys) FileID() uint64 { return c.Ino() }
