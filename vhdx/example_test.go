package vhdx_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ckptfs/ckptfs/vhdx"
)

// Example writes a small dynamic VHDX, opens it as a one-layer chain and
// reads it back: the written block holds data, the rest of the disk is
// absent (never written) and reads as zeros.
func Example() {
	dir, err := os.MkdirTemp("", "vhdx-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "disk.vhdx")

	w, err := vhdx.Create(name, vhdx.CreateOptions{VirtualSize: 64 << 20, BlockSize: 1 << 20})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := w.WriteAt([]byte("hello, disk"), 3<<20); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	c, err := vhdx.OpenChain(name, vhdx.ChainOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 11)
	if _, err := c.ReadAt(buf, 3<<20); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d MiB, %q\n", c.Size()>>20, buf)
	exts, err := c.Extents(0, c.Size())
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range exts {
		fmt.Printf("%2d MiB + %2d MiB: %s\n", e.Off>>20, e.Len>>20, e.Kind)
	}
	// Output:
	// 64 MiB, "hello, disk"
	//  0 MiB +  3 MiB: absent
	//  3 MiB +  1 MiB: data
	//  4 MiB + 60 MiB: absent
}
