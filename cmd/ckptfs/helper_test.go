//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestMountHelperForm runs the binary the way mount.fuse3 does for
// `mount -t fuse.ckptfs SRC MNT`: it must return once the tree answers,
// leaving the mount in place, and accept the generic options mount passes.
func TestMountHelperForm(t *testing.T) {
	testutil.NeedFUSE(t)
	dir, _ := smallChain(t)
	bin := ckptfsBinary(t)
	mnt := t.TempDir()
	if out, err := exec.Command(bin, dir, mnt, "-o", "rw,nosuid,nodev").CombinedOutput(); err != nil {
		t.Fatalf("helper form: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("fusermount3", "-u", mnt).Run() })
	if _, err := os.Lstat(filepath.Join(mnt, "latest")); err != nil {
		t.Fatalf("mount not ready when the helper returned: %v", err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "checkpoints", "Now", "disks", "Disk0.raw")); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, filepath.Join(dir, "missing.vhdx"), t.TempDir()).CombinedOutput(); err == nil {
		t.Fatalf("helper form with a missing source succeeded: %s", out)
	}
}
