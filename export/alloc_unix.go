//go:build unix

package export

import (
	"os"
	"syscall"
)

// allocated returns the bytes a file occupies on disk (st_blocks × 512).
func allocated(st os.FileInfo) int64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Blocks * 512
	}
	return st.Size()
}
