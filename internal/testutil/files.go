package testutil

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// CopyFiles copies files into a new temporary folder under their base
// names and returns the folder and the copies' paths, in order. Tests
// that change disk files in place (merges, updates) work on copies.
func CopyFiles(t testing.TB, files []string) (dir string, copies []string) {
	t.Helper()
	dir = t.TempDir()
	for _, f := range files {
		dst := filepath.Join(dir, filepath.Base(f))
		if err := copyFile(f, dst); err != nil {
			t.Fatal(err)
		}
		copies = append(copies, dst)
	}
	return dir, copies
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
