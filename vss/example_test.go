package vss_test

import (
	"fmt"
	"io"
	"os"

	"github.com/ckptfs/ckptfs/vss"
)

// List the shadow copies of an NTFS volume (a partition of a raw disk)
// and read the first sector of the oldest as it was when it was taken.
func Example() {
	disk, err := os.Open("disk.raw")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer disk.Close()
	part := io.NewSectionReader(disk, 63*512, 268430022*512)
	v, err := vss.NewVolume(part, part.Size())
	if err != nil {
		fmt.Println(err) // vss.ErrNoShadows when copies were never enabled
		return
	}
	for _, s := range v.Stores() {
		fmt.Println(s.Index, s.ID, s.Created.Format("2006-01-02T15.04.05"), s.Offline())
	}
	if len(v.Stores()) == 0 {
		return
	}
	r, err := v.Stores()[0].Open()
	if err != nil {
		fmt.Println(err) // vss.ErrUnsupported: the data is on another volume (AttachStorage)
		return
	}
	boot := make([]byte, 512)
	if _, err := r.ReadAt(boot, 0); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", boot[3:11])
}
