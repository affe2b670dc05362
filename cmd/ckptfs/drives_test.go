//go:build linux

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestDriveLetters: on a disk whose Windows names its volumes C: and E:
// in its registry (testdata/guest/windows.sh), cat takes C:\path, the
// mount's checkpoint.json gives each volume's letter, and a letter no
// volume has is not found, with the letters there are.
func TestDriveLetters(t *testing.T) {
	testutil.NeedTool(t, "qemu-img")
	gpt, _ := testutil.WindowsDisks(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "vm", "win.vhdx")
	os.Mkdir(filepath.Dir(src), 0o755)
	testutil.Run(t, "qemu-img", "convert", "-f", "raw", "-O", "vhdx", gpt, src)
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
	// ls: the volumes with their letters, a folder by its letter.
	out, errs, code := ckptfs(t, "ls", src, "Now")
	if code != exitOK || !strings.HasPrefix(out, "Windows 11 Pro 23H2 (10.0.22631.3007), host WEB01 on Disk0-p2\n") || !regexp.MustCompile(`(?m)^C:\s+Disk0-p2\s+ntfs\s.*"Windows"$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^-\s+Disk0-p4\s+ntfs\s.*"NoLetter"$`).MatchString(out) {
		t.Errorf("ls Now: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = ckptfs(t, "ls", src)
	if code != exitOK || !strings.Contains(out, "  Windows 11 Pro 23H2 (10.0.22631.3007), host WEB01 on Disk0-p2\n") {
		t.Errorf("ls: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = ckptfs(t, "ls", "--json", src, "Now")
	var lv struct {
		Volumes []struct{ Dir, Drive, Label string }
	}
	if err := json.Unmarshal([]byte(out), &lv); code != exitOK || err != nil || len(lv.Volumes) != 4 ||
		lv.Volumes[2].Dir != "Disk0-p3" || lv.Volumes[2].Drive != "E:" || lv.Volumes[2].Label != "Data" {
		t.Errorf("ls --json Now: exit %d %v\n%s%s", code, err, out, errs)
	}
	out, errs, code = ckptfs(t, "ls", src, "Now", `C:\`)
	if code != exitOK || !regexp.MustCompile(`(?m)^-0644 +8 .*  label\.txt$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^d\d{4} +0 .*  Windows$`).MatchString(out) {
		t.Errorf("ls C:\\: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = ckptfs(t, "ls", "--json", src, "Now", `c:\WINDOWS\system32\config`)
	var le struct {
		Entries []struct {
			Name, Type string
			Size       int64
		}
	}
	if err := json.Unmarshal([]byte(out), &le); code != exitOK || err != nil || len(le.Entries) != 2 ||
		le.Entries[1].Name != "SYSTEM" || le.Entries[1].Type != "file" || le.Entries[1].Size < 8192 {
		t.Errorf("ls --json of the config folder: exit %d %v\n%s%s", code, err, out, errs)
	}
	if _, _, code := ckptfs(t, "ls", src, "Now", `C:\nothing`); code != exitNotFound {
		t.Errorf("ls of a missing path: exit %d", code)
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
		OS []struct{ Volume, Family, Name, Version, Hostname string }
	}
	if err := json.Unmarshal(js, &cj); err != nil {
		t.Fatal(err)
	}
	if len(cj.OS) != 1 || cj.OS[0].Volume != "Disk0-p2" || cj.OS[0].Family != "windows" || cj.OS[0].Hostname != "WEB01" || cj.OS[0].Version != "10.0.22631.3007" {
		t.Errorf("checkpoint.json os: %+v", cj.OS)
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
