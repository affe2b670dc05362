//go:build linux

package guest

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/bitlocker"
	"github.com/ckptfs/ckptfs/exfat"
	"github.com/ckptfs/ckptfs/ext"
	"github.com/ckptfs/ckptfs/internal/srcfile"
	"github.com/ckptfs/ckptfs/ntfs"
	"github.com/ckptfs/ckptfs/regf"
	"github.com/ckptfs/ckptfs/xfs"
)

// TestReaderOpenRefusesNonFiles: every reader's Open(name), the library
// entry point, refuses a FIFO at once (a plain open(2) of one waits for a
// writer forever), a folder and a character device, with the reader's
// ErrFormat and srcfile.ErrNotFile; a missing file is fs.ErrNotExist.
func TestReaderOpenRefusesNonFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "disk.img")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	opens := []struct {
		name   string
		open   func(string) error
		format error
	}{
		{"ntfs", func(n string) error { _, err := ntfs.Open(n); return err }, ntfs.ErrFormat},
		{"ext", func(n string) error { _, err := ext.Open(n); return err }, ext.ErrFormat},
		{"xfs", func(n string) error { _, err := xfs.Open(n); return err }, xfs.ErrFormat},
		{"exfat", func(n string) error { _, err := exfat.Open(n); return err }, exfat.ErrFormat},
		{"regf", func(n string) error { _, err := regf.Open(n); return err }, regf.ErrFormat},
		{"bitlocker", func(n string) error { _, err := bitlocker.Open(n); return err }, bitlocker.ErrFormat},
	}
	for _, o := range opens {
		for _, name := range []string{fifo, dir, "/dev/zero"} {
			done := make(chan error, 1)
			go func() { done <- o.open(name) }()
			select {
			case err := <-done:
				if !errors.Is(err, o.format) || !errors.Is(err, srcfile.ErrNotFile) {
					t.Errorf("%s.Open(%s) = %v, want its ErrFormat and srcfile.ErrNotFile", o.name, name, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s.Open(%s) still waiting after 10 s", o.name, name)
			}
		}
		if err := o.open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s.Open(missing) = %v, want fs.ErrNotExist", o.name, err)
		}
	}
}
