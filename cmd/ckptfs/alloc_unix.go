//go:build unix

package main

import (
	"os"
	"syscall"
)

// fileAllocation returns a local file's length and the bytes its blocks
// occupy (st_blocks × 512).
func fileAllocation(name string) (size, allocated int64, ok bool) {
	fi, err := os.Stat(name)
	if err != nil {
		return 0, 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fi.Size(), fi.Size(), true
	}
	return fi.Size(), st.Blocks * 512, true
}
