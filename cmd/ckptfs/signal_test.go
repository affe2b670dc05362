//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestSecondSignalStops mounts a chain with the real binary and keeps a
// file of the mount open, so that the unmount asked for by SIGINT cannot
// happen: the mount keeps retrying, and a second SIGINT stops it at once.
func TestSecondSignalStops(t *testing.T) {
	testutil.NeedFUSE(t)
	dir, _ := smallChain(t)
	bin := ckptfsBinary(t)
	mnt := t.TempDir()
	cmd := exec.Command(bin, "mount", dir, mnt)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		exec.Command("fusermount3", "-u", "-z", mnt).Run()
		cmd.Process.Kill()
	})
	raw := filepath.Join(mnt, "checkpoints", "Now", "disks", "Disk0.raw")
	var f *os.File
	for i := 0; i < 200 && f == nil; i++ {
		f, _ = os.Open(raw)
		time.Sleep(50 * time.Millisecond)
	}
	if f == nil {
		t.Fatal("the mount did not come up")
	}
	defer f.Close()
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		t.Fatalf("the mount ended with a file open in it: %v", err)
	case <-time.After(1500 * time.Millisecond):
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
			t.Errorf("second SIGINT: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second SIGINT does not stop the mount")
	}
}
