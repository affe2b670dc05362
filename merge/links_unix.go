//go:build unix

package merge

import (
	"os"
	"syscall"
)

// hardLinks returns how many names the file has (0 when unknown).
func hardLinks(name string) uint64 {
	fi, err := os.Stat(name)
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 0
}
