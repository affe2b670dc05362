//go:build linux

package xfs_test

import (
	"fmt"
	"io/fs"
	"log"

	"github.com/ckptfs/ckptfs/xfs"
)

// Open an XFS image read-only and list its top folder with owners, as
// `ls -ln` would, then print a file.
func Example() {
	v, err := xfs.Open("testdata/out/xfs/v5.img")
	if err != nil {
		log.Print(err) // the fixture is built by the package's tests (as root)
		return
	}
	defer v.Close()
	if ls := v.LogState(); ls.Dirty && !ls.Replayed {
		fmt.Println("log not replayed:", ls.Note)
	}
	ents, _ := fs.ReadDir(v, ".")
	for _, e := range ents {
		fi, _ := e.Info()
		perm, uid, gid := fi.Sys().(interface {
			POSIXAttributes() (perm, uid, gid uint32)
		}).POSIXAttributes()
		fmt.Printf("%v %04o %d:%d %d %s\n", fi.Mode().Type(), perm, uid, gid, fi.Size(), e.Name())
	}
	b, _ := fs.ReadFile(v, "hello.txt")
	fmt.Printf("%q\n", b)
}
