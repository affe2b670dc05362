//go:build linux

package exfat_test

import (
	"fmt"
	"io/fs"
	"log"

	"github.com/ckptfs/ckptfs/exfat"
)

// Open an exFAT image read-only, list its top folder with the Windows
// attributes and print a file.
func Example() {
	v, err := exfat.Open("../testdata/out/exfat/tiny.img")
	if err != nil {
		log.Print(err) // the image is built by the package's tests (as root)
		return
	}
	defer v.Close()
	fmt.Printf("label %q\n", v.Label())
	ents, _ := fs.ReadDir(v, ".")
	for _, e := range ents {
		fi, _ := e.Info()
		attrs := fi.Sys().(interface{ WindowsAttributes() uint32 }).WindowsAttributes()
		fmt.Printf("%v %#02x %d %s\n", fi.Mode(), attrs, fi.Size(), e.Name())
	}
	b, _ := fs.ReadFile(v, "hello.txt")
	fmt.Printf("%q\n", b)
}
