package btrfs_test

import (
	"fmt"
	"io/fs"
	"log"
	"os"

	"github.com/ckptfs/ckptfs/btrfs"
)

// Open a btrfs partition image, list its default subvolume (what the
// guest mounts), then reach every subvolume through the top level.
func Example() {
	f, err := os.Open("fedora.img")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	v, err := btrfs.NewVolume(f, st.Size())
	if err != nil {
		log.Fatal(err)
	}
	def, _ := v.Subvolume(v.DefaultSubvolume())
	ents, _ := def.ReadDir(".")
	for _, e := range ents {
		fmt.Println(e.Name())
	}
	top, _ := v.Subvolume(5)
	_ = fs.WalkDir(top, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, _ := d.Info()
		sys := fi.Sys().(*btrfs.FileInfo)
		fmt.Println(p, sys.SubvolumeID(), sys.Ino(), fi.Mode())
		return nil
	})
}
