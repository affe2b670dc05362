package ntfs_test

import (
	"fmt"
	"io/fs"
	"log"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/ntfs"
)

// Example opens an NTFS volume (an image testdata/ntfs/gen.sh made with
// mkntfs and ntfs-3g) and reads it through io/fs, then asks the record
// behind a file for what io/fs cannot carry.
func Example() {
	img, err := testutil.BuildFixture("ntfs", "tiny.img", "tiny") // tools: mkntfs, ntfs-3g
	if err != nil {
		log.Fatal(err)
	}
	v, err := ntfs.Open(img)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	label, _ := v.Label()
	fmt.Println("label:", label)

	ents, err := fs.ReadDir(v, ".")
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range ents {
		fmt.Println(e.Type(), e.Name())
	}
	b, err := fs.ReadFile(v, "hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	fi, err := fs.Stat(v, "hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	rec := fi.Sys().(*ntfs.FileRecordInfo)
	fmt.Printf("%q: %d names, streams %q\n", b, rec.Links, rec.StreamNames())
	target, _ := fs.ReadLink(v, "link")
	fmt.Println("link ->", target)
	// Output:
	// label: Tiny
	// d--------- dir
	// ---------- hello.txt
	// L--------- link
	// ---------- sparse
	// d--------- z
	// "hello\n": 2 names, streams ["s"]
	// link -> hello.txt
}
