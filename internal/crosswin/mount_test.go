//go:build linux

package crosswin

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestMountVHDX checks one fixed volume of each of NTFS and exFAT through
// the whole stack: the volume wrapped in a VHDX by qemu-img, mounted by
// `ckptfs mount` (a separate process: the test reads the mount with plain
// syscalls), every file compared with what the guest layer reads.
func TestMountVHDX(t *testing.T) {
	needs(t, true, "qemu-img", "mkntfs", "ntfs-3g", "ntfsfix", "mkfs.exfat", "mount.exfat-fuse", "fsck.exfat")
	bin := filepath.Join(t.TempDir(), "ckptfs")
	testutil.Run(t, goTool(), "build", "-o", bin, filepath.Join(testutil.RepoRoot(), "cmd", "ckptfs"))
	for _, kind := range []string{"ntfs", "exfat"} {
		t.Run(kind, func(t *testing.T) {
			c := &checker{t: t, kind: kind + "-mount"}
			defer c.record()
			img, err := testutil.BuildFixture("crosswin", kind+"-1.img", kind, "1")
			if err != nil {
				t.Fatal(err)
			}
			vhdx := filepath.Join(t.TempDir(), "disk.vhdx")
			testutil.Run(t, "qemu-img", "convert", "-f", "raw", "-O", "vhdx", img, vhdx)
			vol := ckptfsMount(t, bin, vhdx)
			ours := readOurs(c, openOurs(c, img))
			compare(c, ours, readHost(c, vol, false), what{
				oracle: "ckptfs mount", links: true, content: true, mtime: time.Nanosecond, nlink: kind == "ntfs",
			})
		})
	}
}

// goTool is the go command gen.sh uses too.
func goTool() string {
	if _, err := os.Stat("/usr/local/go/bin/go"); err == nil {
		return "/usr/local/go/bin/go"
	}
	return "go"
}

// ckptfsMount runs `ckptfs mount VHDX DIR` until the test ends and
// returns the folder of the disk's one volume in its live state.
func ckptfsMount(t *testing.T, bin, vhdx string) string {
	dir := t.TempDir()
	cmd := exec.Command(bin, "mount", vhdx, dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("fusermount3", "-u", dir).Run()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	for i := 0; i < 300; i++ {
		if vols, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*", "*-vol")); len(vols) > 0 {
			return vols[0]
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("ckptfs mount %s: no volume folder after 30 s", vhdx)
	return ""
}
