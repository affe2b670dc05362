//go:build linux

package btrfs_test

import (
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestSubvolumePath checks SubvolumePath of every subvolume of the
// images with subvolumes against the paths `btrfs subvolume list` prints
// from the kernel's mount of the top level.
func TestSubvolumePath(t *testing.T) {
	dir := testutil.BtrfsImages(t)
	line := regexp.MustCompile(`(?m)^ID (\d+) gen \d+ top level \d+ path (.*)$`)
	for _, name := range []string{"main", "suse", "fedora"} {
		t.Run(name, func(t *testing.T) {
			img := filepath.Join(dir, name+".img")
			mnt := kernelMount(t, img, ",subvolid=5")[0]
			list := string(testutil.Run(t, "btrfs", "subvolume", "list", mnt))
			v, _ := openImage(t, img)
			n := 0
			for _, m := range line.FindAllStringSubmatch(list, -1) {
				id, _ := strconv.ParseUint(m[1], 10, 64)
				got, err := v.SubvolumePath(id)
				if err != nil || got != m[2] {
					t.Errorf("subvolume %d: %q, %v; btrfs subvolume list says %q", id, got, err, m[2])
				}
				n++
			}
			if n == 0 {
				t.Fatalf("btrfs subvolume list found none:\n%s", list)
			}
			if p, err := v.SubvolumePath(5); p != "" || err != nil {
				t.Errorf("top level: %q, %v", p, err)
			}
			t.Logf("%d subvolumes", n)
		})
	}
}
