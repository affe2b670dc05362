package ldm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// The dynamic disks of testdata/ldm/gen.sh (mkldm's layout.json): three
// disks of group CKPTFS-SRV-Dg0 and six volumes.
const fixtureGroup = "5e1d0a00-7c1e-11e1-9e2b-00155d0a0b01"

var fixtureDisks = []string{"disk1.img", "disk2.img", "disk3.img"}

// fixtureDir builds the disks when missing and returns their folder.
func fixtureDir(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "building the dynamic disks needs root (ntfs-3g fills the NTFS volumes through FUSE)")
	}
	for _, tool := range []string{"mkntfs", "ntfs-3g", "fusermount3", "mkfs.fat", "mmd", "mcopy", "openssl", "qemu-img"} {
		testutil.NeedTool(t, tool)
	}
	testutil.NeedFUSE(t)
	return filepath.Dir(testutil.Fixture(t, "ldm", "disk1.img"))
}

// openFixture opens the named disks of the fixture.
func openFixture(t testing.TB, dir string, names ...string) []*Disk {
	t.Helper()
	var out []*Disk
	for _, n := range names {
		d, err := Open(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		out = append(out, d)
	}
	return out
}
