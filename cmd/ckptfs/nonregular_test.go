//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNonRegularInput gives every command that reads SRC a FIFO named
// x.vhdx (which blocked each of them forever, deaf to signals) and a
// character device: each refuses at once with the wrong-format exit code
// and an error that says what the file is.
func TestNonRegularInput(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "x.vhdx")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.vhdx")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	out := filepath.Join(t.TempDir(), "out.vhdx")
	for _, src := range []string{fifo, zero, "/dev/zero"} {
		for _, args := range [][]string{
			{"ls", src}, {"info", src}, {"check", src}, {"mount", src, mnt},
			{"cat", src, "Now", "disks/Disk0.raw"}, {"export", src, "Now", "-o", out},
			{"cp", src, "Now", "Disk0-vol/a", t.TempDir()}, {"diff", src, "Now", "Now"},
		} {
			type result struct {
				errs string
				code int
			}
			done := make(chan result, 1)
			go func() {
				_, errs, code := ckptfs(t, args...)
				done <- result{errs, code}
			}()
			select {
			case r := <-done:
				if r.code != exitBadImage || !strings.Contains(r.errs, "not a regular file or block device") {
					t.Errorf("ckptfs %s: exit %d, %s", strings.Join(args, " "), r.code, r.errs)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("ckptfs %s blocks", strings.Join(args, " "))
			}
		}
	}
}
