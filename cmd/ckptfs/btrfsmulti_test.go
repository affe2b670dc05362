//go:build linux

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// btrfsState reads testdata/btrfs/multivm.sh's stateN.list as
// kernelState does lvmspanchain's: "Disk0-p1/path" entries.
func btrfsState(t *testing.T, dir string, n int) map[string]kernelEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("state%d.list", n)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]kernelEntry{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 12 {
			t.Fatalf("state%d.list: line %q", n, line)
		}
		e := kernelEntry{typ: f[1], mode: f[2], size: f[5], mtime: f[8], sha: f[11]}
		if e.typ != "f" {
			e.size = ""
		}
		out["Disk0-p1/"+f[0]] = e
	}
	return out
}

// TestBtrfsOverTwoDisks runs the commands on testdata/btrfs/multivm.sh's
// VM, whose btrfs root was grown onto its second disk: ls lists the
// filesystem once and the second disk's volume as its device; cat and cp
// read files whose data lies on either disk as the kernel read them;
// check is clean; diff --files between checkpoints finds every change the
// kernel sees between its mounts of the two states.
func TestBtrfsOverTwoDisks(t *testing.T) {
	dir := testutil.BtrfsMultiVM(t)
	vm := filepath.Join(dir, "vm")
	out, errs, code := ckptfs(t, "ls", "--json", vm, "Now")
	var ls struct{ Volumes []lsVolumeJSON }
	if err := json.Unmarshal([]byte(out), &ls); code != exitOK || err != nil {
		t.Fatalf("ls --json: exit %d, %v\n%s%s", code, err, out, errs)
	}
	got := map[string]lsVolumeJSON{}
	for _, v := range ls.Volumes {
		got[v.Name] = v
	}
	if v := got["Disk0-p1"]; v.FSType != "btrfs" || v.Error != "" || v.Warning != "" || v.Dir == "" {
		t.Errorf("ls: Disk0-p1 %+v", v)
	}
	if v := got["Disk1-vol"]; !strings.Contains(v.Purpose, "device 2 of btrfs filesystem") || v.Dir != "" {
		t.Errorf("ls: Disk1-vol %+v", v)
	}
	for ck, want := range map[string]string{"installed": "multi\n", "updated": "multi-updated\n", "Now": "multi-updated\n"} {
		if out, errs, code := ckptfs(t, "cat", vm, ck, "Disk0-p1/root/etc/hostname"); code != exitOK || out != want {
			t.Errorf("cat %s hostname: exit %d %q %s", ck, code, out, errs)
		}
	}
	now := btrfsState(t, dir, 2)
	dest := t.TempDir()
	files := []string{"home/admin/media/video.bin", "root/usr/lib/libbig.so", "root/usr/lib/libnew.so", "root/var/log/messages"}
	args := []string{"cp", vm, "Now"}
	for _, f := range files {
		args = append(args, "Disk0-p1/"+f)
	}
	if _, errs, code := ckptfs(t, append(args, dest)...); code != exitOK {
		t.Fatalf("cp: exit %d %s", code, errs)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dest, filepath.Base(f)))
		h := sha256.Sum256(b)
		if err != nil || hex.EncodeToString(h[:]) != now["Disk0-p1/"+f].sha {
			t.Errorf("cp %s: %v, sha256 differs from the kernel's", f, err)
		}
	}
	if out, errs, code := ckptfs(t, "check", vm); code != exitOK {
		t.Errorf("check: exit %d\n%s%s", code, out, errs)
	}
	right := 0
	for _, pair := range [][2]int{{0, 1}, {1, 2}, {0, 2}, {2, 0}} {
		names := []string{"installed", "updated", "Now"}
		out, errs, code := ckptfs(t, "diff", "--files", "--json", vm, names[pair[0]], names[pair[1]])
		if code != exitOK {
			t.Fatalf("diff %v: exit %d %s", pair, code, errs)
		}
		var res struct {
			Files []struct {
				Path, Change string
				What         []string
			}
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("diff %v: %v\n%s", pair, err, out)
		}
		var lines []string
		for _, f := range res.Files {
			line := f.Change + " " + f.Path
			if len(f.What) > 0 {
				line += " " + strings.Join(f.What, ",")
			}
			lines = append(lines, line)
		}
		sort.Strings(lines)
		want := kernelDiff(btrfsState(t, dir, pair[0]), btrfsState(t, dir, pair[1]))
		if len(want) == 0 || strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("diff --files %s %s:\n%s\nthe kernel sees:\n%s", names[pair[0]], names[pair[1]], strings.Join(lines, "\n"), strings.Join(want, "\n"))
		} else {
			right += len(want)
		}
	}
	t.Logf("file changes equal to the kernel's: %d", right)
}

// TestBtrfsLooseDisks: multivm.sh's disk files without the VM's
// configuration are one VM (their devices are of one btrfs filesystem;
// four checkpoints, the last frozen state and Now being alike),
// read as with it; disk a's files alone show the filesystem with a
// warning naming device 2, and a file whose data lies on it fails naming
// it, while one on device 1 reads; check is not clean.
func TestBtrfsLooseDisks(t *testing.T) {
	dir := testutil.BtrfsMultiVM(t)
	all, _ := filepath.Glob(filepath.Join(dir, "vm", "multi-*"))
	var onlyA []string
	for _, f := range all {
		if strings.HasPrefix(filepath.Base(f), "multi-a") {
			onlyA = append(onlyA, f)
		}
	}
	if len(all) != 6 || len(onlyA) != 3 {
		t.Fatalf("disk files %v", all)
	}
	loose, _ := testutil.CopyFiles(t, all)
	out, errs, code := ckptfs(t, "ls", "--json", loose)
	var ls lsJSON
	if err := json.Unmarshal([]byte(out), &ls); code != exitOK || err != nil || len(ls.VMs) != 1 || len(ls.VMs[0].Checkpoints) != 4 { // three states, the last frozen and Now alike
		t.Fatalf("ls --json of the loose disks: exit %d, %v\n%s%s", code, err, out, errs)
	}
	if out, errs, code := ckptfs(t, "cat", loose, "Now", "Disk0-p1/root/usr/lib/libnew.so"); code != exitOK || len(out) != 12<<20 {
		t.Errorf("cat libnew.so from the loose disks: exit %d, %d bytes %s", code, len(out), errs)
	}
	alone, _ := testutil.CopyFiles(t, onlyA)
	out, errs, code = ckptfs(t, "ls", "--json", alone, "Now")
	var vols struct{ Volumes []lsVolumeJSON }
	if err := json.Unmarshal([]byte(out), &vols); code != exitOK || err != nil {
		t.Fatalf("ls --json of disk a: exit %d, %v\n%s%s", code, err, out, errs)
	}
	found := false
	for _, v := range vols.Volumes {
		if v.Name == "Disk0-p1" {
			found = true
			if v.Dir == "" || !strings.Contains(v.Warning, "device 2 of its 2 missing") {
				t.Errorf("disk a alone: %+v", v)
			}
		}
	}
	if !found {
		t.Errorf("disk a alone: no Disk0-p1\n%s", out)
	}
	if _, errs, code := ckptfs(t, "cat", alone, "Now", "Disk0-p1/root/usr/lib/libnew.so"); code == exitOK || !strings.Contains(errs, "device 2 is missing") {
		t.Errorf("cat of a file on the missing device: exit %d %s", code, errs)
	}
	if out, errs, code := ckptfs(t, "cat", alone, "Now", "Disk0-p1/root/etc/hostname"); code != exitOK || out != "multi-updated\n" {
		t.Errorf("cat of a file on device 1: exit %d %q %s", code, out, errs)
	}
	if out, errs, code := ckptfs(t, "check", alone); code == exitOK || !strings.Contains(out+errs, "device 2 of its 2 missing") {
		t.Errorf("check of disk a alone: exit %d\n%s%s", code, out, errs)
	}
}
