//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// kernelEntry is one line of testdata/guest/lvmspanchain.sh's stateN.list:
// what the kernel's ext4 says of a path, mounted read-only.
type kernelEntry struct {
	typ, mode, size, mtime, sha string
}

// kernelState reads stateN.list into "VOL/path" entries, VOL the name
// ckptfs gives the logical volume.
func kernelState(t *testing.T, dir string, n int) map[string]kernelEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("state%d.list", n)))
	if err != nil {
		t.Fatal(err)
	}
	vols := map[string]string{"root": "Disk0-p1-grown-root", "data": "Disk1-vol-grown-data"}
	out := map[string]kernelEntry{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 7 || vols[f[0]] == "" {
			t.Fatalf("state%d.list: line %q", n, line)
		}
		e := kernelEntry{typ: f[2], mode: f[3], size: f[4], mtime: f[5], sha: f[6]}
		if e.typ != "f" {
			e.size = "" // ckptfs counts the size of regular files only
		}
		out[vols[f[0]]+"/"+f[1]] = e
	}
	return out
}

// kernelDiff is what changed from a to b as the kernel sees both, in
// the shape of diff --json: "change path what,what".
func kernelDiff(a, b map[string]kernelEntry) []string {
	var out []string
	for p, eb := range b {
		ea, ok := a[p]
		if !ok {
			out = append(out, "added "+p)
			continue
		}
		var what []string
		if ea.typ != eb.typ {
			out = append(out, "modified "+p+" type")
			continue
		}
		if ea.typ == "f" && ea.sha != eb.sha {
			what = append(what, "content")
		}
		if ea.size != eb.size {
			what = append(what, "size")
		}
		if ea.mtime != eb.mtime {
			what = append(what, "mtime")
		}
		if ea.mode != eb.mode {
			what = append(what, "mode")
		}
		if len(what) > 0 {
			out = append(out, "modified "+p+" "+strings.Join(what, ","))
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			out = append(out, "removed "+p)
		}
	}
	sort.Strings(out)
	return out
}

// TestDiffFilesLVMOverTwoDisks: diff --files between checkpoints of
// testdata/guest/lvmspanchain.sh's VM, whose root logical volume lies on
// both its disks, finds every file change the kernel sees between its
// read-only mounts of the two states (each volume put together from the
// disks where lvs says its extents are): from "installed" to "updated"
// (both disks changed), from "updated" to "Now" (only the second disk
// changed: 64 KiB of a file rewritten under the filesystem, no time or
// size changed, so only its content tells) and across both. Only root is
// walked: data, on the second disk alone, did not change and is skipped
// unread (no note names it).
func TestDiffFilesLVMOverTwoDisks(t *testing.T) {
	dir := testutil.LVMSpanChain(t)
	vm := filepath.Join(dir, "vm")
	states := map[string]int{"installed": 0, "updated": 1, "Now": 2}
	right, wrong := 0, 0
	for _, pair := range [][2]string{{"installed", "updated"}, {"updated", "Now"}, {"installed", "Now"}, {"Now", "installed"}} {
		out, errs, code := ckptfs(t, "diff", "--files", "--json", vm, pair[0], pair[1])
		if code != exitOK {
			t.Fatalf("diff %s %s: exit %d %s", pair[0], pair[1], code, errs)
		}
		var res struct {
			Files []struct {
				Path, Change string
				What         []string
			}
			Notes []string
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("diff %s %s: %v\n%s", pair[0], pair[1], err, out)
		}
		var got []string
		for _, f := range res.Files {
			line := f.Change + " " + f.Path
			if len(f.What) > 0 {
				line += " " + strings.Join(f.What, ",")
			}
			got = append(got, line)
		}
		sort.Strings(got)
		want := kernelDiff(kernelState(t, dir, states[pair[0]]), kernelState(t, dir, states[pair[1]]))
		if len(want) == 0 {
			t.Fatalf("%s → %s: the kernel sees no change", pair[0], pair[1])
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("diff --files %s %s:\n%s\nthe kernel sees:\n%s", pair[0], pair[1], strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// Counted change by change against the kernel's.
		gotSet := map[string]bool{}
		for _, g := range got {
			gotSet[g] = true
		}
		for _, w := range want {
			if gotSet[w] {
				right++
			} else {
				wrong++
			}
		}
		wrong += max(0, len(got)-len(want))
		if n := strings.Join(res.Notes, "\n"); n != "Disk0-p1-grown-root: ext4 compared by a full walk of both trees" {
			t.Errorf("diff --files %s %s: notes\n%s", pair[0], pair[1], n)
		}
	}
	t.Logf("file changes against the kernel's: %d right, %d wrong", right, wrong)
}

// TestInfoLVMOverTwoDisks: info (and ls of the whole VM) lists the LUKS2
// volume of testdata/guest/lvmspanchain.sh's VM whose header lies on the
// first disk and its data on the second (lvmspan.sh vault: cryptsetup
// luksFormat with one pbkdf2 key slot), in each checkpoint: locked with
// no key, unlocked by its passphrase. Each disk read alone, it was not
// there at all (an LVM volume waiting for the other disk).
func TestInfoLVMOverTwoDisks(t *testing.T) {
	vm := filepath.Join(testutil.LVMSpanChain(t), "vm")
	out, errs, code := ckptfs(t, "info", vm)
	for _, cp := range []string{"installed", "updated", "Now"} {
		want := "  " + cp + ": Disk0-p1-grown-vault: LUKS2, locked (protectors: key slot 0 (pbkdf2-sha256))\n"
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("info: exit %d, no %q\n%s%s", code, want, out, errs)
		}
	}
	out, errs, code = ckptfs(t, "info", "--json", "--key", "password:vault secret", vm)
	var info struct {
		Encrypted []encryptedJSON `json:"encrypted_volumes"`
	}
	if err := json.Unmarshal([]byte(out), &info); code != exitOK || err != nil || len(info.Encrypted) != 3 {
		t.Fatalf("info --json --key: exit %d, %v\n%s%s", code, err, out, errs)
	}
	for _, e := range info.Encrypted {
		if e.Volume != "Disk0-p1-grown-vault" || e.Encryption != "luks2" || e.Locked || e.UnlockedBy != "key slot 0" || e.Error != "" {
			t.Errorf("info --json --key: %+v", e)
		}
	}
	out, errs, code = ckptfs(t, "ls", "--json", vm)
	var ls lsJSON
	if err := json.Unmarshal([]byte(out), &ls); code != exitOK || err != nil || len(ls.VMs) != 1 || len(ls.VMs[0].Checkpoints) != 3 {
		t.Fatalf("ls --json: exit %d, %v\n%s%s", code, err, out, errs)
	}
	for _, c := range ls.VMs[0].Checkpoints {
		if len(c.Encrypted) != 1 || c.Encrypted[0].Volume != "Disk0-p1-grown-vault" || !c.Encrypted[0].Locked ||
			len(c.OS) != 1 || c.OS[0].Volume != "Disk0-p1-grown-root" {
			t.Errorf("ls --json, checkpoint %s: encrypted %+v, os %+v", c.Name, c.Encrypted, c.OS)
		}
	}
}
