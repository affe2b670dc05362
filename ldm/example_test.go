package ldm_test

import (
	"fmt"
	"os"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/ldm"
)

// Read the volumes of a disk group made of three dynamic disks, and the
// boot sector of a spanned one.
func Example() {
	if _, err := testutil.BuildFixture("ldm", "disk1.img"); err != nil {
		// Building the disks needs root and FUSE (testdata/ldm/gen.sh).
		fmt.Fprintln(os.Stderr, err)
		return
	}
	var disks []*ldm.Disk
	for _, name := range []string{"disk1.img", "disk2.img", "disk3.img"} {
		d, err := ldm.Open(testutil.OutDir("ldm") + "/" + name)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer d.Close()
		disks = append(disks, d)
	}
	g, err := ldm.NewGroup(disks...)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(g.Name)
	for _, v := range g.Volumes() {
		fmt.Printf("%s %s %d MiB on %d disk(s)\n", v.Name, v.Type, v.Size>>20, len(v.Disks()))
		if v.Name != "Volume2" {
			continue
		}
		r, err := g.Open(v)
		if err != nil {
			fmt.Println(err)
			return
		}
		boot := make([]byte, 11)
		if _, err := r.ReadAt(boot, 0); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("  starts with %q\n", boot[3:])
	}
	// Output:
	// CKPTFS-SRV-Dg0
	// Volume1 simple 8 MiB on 1 disk(s)
	// Volume2 spanned 12 MiB on 2 disk(s)
	//   starts with "NTFS    "
	// Volume3 spanned 8 MiB on 1 disk(s)
	// Volume4 striped 8 MiB on 2 disk(s)
	// Volume5 mirrored 6 MiB on 2 disk(s)
	// Volume6 simple 4 MiB on 1 disk(s)
	// Volume7 RAID5 8 MiB on 3 disk(s)
}
