//go:build !linux

// Command randread is a Linux benchmark tool (it reads with O_DIRECT).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "randread: Linux only")
	os.Exit(2)
}
