//go:build linux

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/regftest"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestDriveLetters: on a disk whose Windows names its volumes C: and E:
// in its registry (testdata/guest/windows.sh), cat takes C:\path, the
// mount's checkpoint.json gives each volume's letter, and a letter no
// volume has is not found, with the letters there are.
func TestDriveLetters(t *testing.T) {
	for _, tool := range []string{"sgdisk", "sfdisk", "mkfs.fat", "mkntfs", "ntfs-3g", "hivexsh", "qemu-img"} {
		testutil.NeedTool(t, tool)
	}
	testutil.NeedFUSE(t)
	dir := t.TempDir()
	hive := filepath.Join(dir, "empty.hive")
	if err := os.WriteFile(hive, regftest.MinimalHive(), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(testutil.RepoRoot(), "testdata", "guest", "windows.sh")
	if out, err := exec.Command("bash", script, dir, hive).CombinedOutput(); err != nil {
		t.Fatalf("windows.sh: %v\n%s", err, out)
	}
	src := filepath.Join(dir, "vm", "win.vhdx")
	os.Mkdir(filepath.Dir(src), 0o755)
	testutil.Run(t, "qemu-img", "convert", "-f", "raw", "-O", "vhdx", filepath.Join(dir, "windows-gpt.img"), src)
	for p, want := range map[string]string{
		`C:\label.txt`:       "Windows\n",
		`c:/LABEL.TXT`:       "Windows\n",
		`E:\label.txt`:       "Data\n",
		`Disk0-p4/label.txt`: "NoLetter\n",
	} {
		if out, errs, code := ckptfs(t, "cat", src, "Now", p); code != exitOK || out != want {
			t.Errorf("cat %s: exit %d, %q %s", p, code, out, errs)
		}
	}
	if _, errs, code := ckptfs(t, "cat", src, "Now", `D:\label.txt`); code != exitNotFound || !strings.Contains(errs, "C: Disk0-p2, E: Disk0-p3") {
		t.Errorf("a letter no volume has: exit %d, %s", code, errs)
	}
	dest := t.TempDir()
	if _, errs, code := ckptfs(t, "cp", src, "Now", `E:\label.txt`, dest); code != exitOK {
		t.Errorf("cp E:: exit %d, %s", code, errs)
	}
	m := startMount(t, nil, src)
	js, err := os.ReadFile(filepath.Join(m.Dir, "checkpoints", "Now", "checkpoint.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cj struct {
		Volumes []struct {
			Name, Drive string
			PartGUID    string `json:"part_guid"`
		}
	}
	if err := json.Unmarshal(js, &cj); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range cj.Volumes {
		got[v.Name] = v.Drive + " " + v.PartGUID
	}
	want := map[string]string{
		"Disk0-p1": " 00000000-0000-0000-0000-0000000000E1",
		"Disk0-p2": "C: 12345678-9ABC-DEF0-1122-334455667788",
		"Disk0-p3": "E: 87654321-CBA9-0FED-8899-AABBCCDDEEFF",
		"Disk0-p4": " 00000000-0000-0000-0000-0000000000F4",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("checkpoint.json %s: %q, want %q", name, got[name], w)
		}
	}
}
