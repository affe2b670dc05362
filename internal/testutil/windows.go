package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/regftest"
)

// WindowsDisks builds testdata/guest/windows.sh's disks in a temporary
// directory: a GPT and an MBR disk laid out as Windows leaves them, whose
// system volume holds registry hives (written by hivexsh) naming drive
// letters, the product and the computer name. It skips (fails in CI)
// without the tools.
func WindowsDisks(t testing.TB) (gpt, mbr string) {
	t.Helper()
	for _, tool := range []string{"sgdisk", "sfdisk", "mkfs.fat", "mkntfs", "ntfs-3g", "hivexsh"} {
		NeedTool(t, tool)
	}
	NeedFUSE(t)
	dir := t.TempDir()
	hive := filepath.Join(dir, "empty.hive")
	if err := os.WriteFile(hive, regftest.MinimalHive(), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(RepoRoot(), "testdata", "guest", "windows.sh")
	if out, err := exec.Command("bash", script, dir, hive).CombinedOutput(); err != nil {
		t.Fatalf("windows.sh: %v\n%s", err, out)
	}
	return filepath.Join(dir, "windows-gpt.img"), filepath.Join(dir, "windows-mbr.img")
}
