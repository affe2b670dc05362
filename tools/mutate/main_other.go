//go:build !linux

// Command mutate runs its mutants through a FUSE mount: Linux only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "mutate: Linux only")
	os.Exit(2)
}
