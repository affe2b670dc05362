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
