//go:build !linux

package srcfile

import "os"

// openRead opens read-only; Open checks the file's type before and after.
func openRead(name string) (*os.File, error) { return os.Open(name) }

// NoAtime reports whether f was opened with O_NOATIME: never here.
func NoAtime(f *os.File) bool { return false }
