package ext_test

import (
	"fmt"
	"io/fs"
	"log"

	"github.com/ckptfs/ckptfs/ext"
)

// Open an ext4 image read-only and list its top folder with owners, as
// `ls -ln` would, then print a file.
func Example() {
	v, err := ext.Open("testdata/out/ext/ext4.img")
	if err != nil {
		log.Print(err) // the fixture is built by the package's tests (as root)
		return
	}
	defer v.Close()
	if v.NeedsRecovery() {
		fmt.Println("the journal needs recovery; showing the state written back")
	}
	ents, _ := fs.ReadDir(v, ".")
	for _, e := range ents {
		fi, _ := e.Info()
		perm, uid, gid := fi.Sys().(*ext.FileInfo).POSIXAttributes()
		fmt.Printf("%v %04o %d:%d %d %s\n", fi.Mode().Type(), perm, uid, gid, fi.Size(), e.Name())
	}
	b, _ := fs.ReadFile(v, "hello.txt")
	fmt.Printf("%q\n", b)
}
