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
// (both disks changed), from "updated" to "rewritten" (only the second
// disk changed: 64 KiB of a root file rewritten under the filesystem, no
// time or size changed, so only its content tells), from "rewritten" to
// "Now" (the second disk changed again, in data's extents only: root,
// over both disks, did not and is skipped unread) and across all, with
// --thorough (without it, a write below the filesystem that leaves the
// inode as it was is not seen on a volume compared by its inodes). Only
// the volumes whose files changed are read (the notes name those
// walked).
func TestDiffFilesLVMOverTwoDisks(t *testing.T) {
	dir := testutil.LVMSpanChain(t)
	vm := filepath.Join(dir, "vm")
	states := map[string]int{"installed": 0, "updated": 1, "rewritten": 2, "Now": 3}
	right, wrong := 0, 0
	for _, pair := range [][2]string{{"installed", "updated"}, {"updated", "rewritten"}, {"rewritten", "Now"}, {"installed", "Now"}, {"Now", "installed"}} {
		out, errs, code := ckptfs(t, "diff", "--files", "--thorough", "--json", vm, pair[0], pair[1])
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
		// Walked: root, whose files changed, a logical volume over both
		// disks (its bytes are not at one place of one disk, so the
		// changed disk ranges do not place its inodes); data, on one
		// disk, is compared by its inodes, unremarked. The others
		// (vault, swap, and root or data when only the other changed)
		// are skipped unread.
		walked := map[string]bool{}
		for _, w := range want {
			_, p, _ := strings.Cut(w, " ")
			vol, _, _ := strings.Cut(p, "/")
			if strings.HasSuffix(vol, "grown-root") {
				walked[vol+": ext4 compared by a full walk of both trees"] = true
			}
		}
		var wantNotes []string
		for n := range walked {
			wantNotes = append(wantNotes, n)
		}
		sort.Strings(wantNotes)
		notes := append([]string(nil), res.Notes...)
		sort.Strings(notes)
		if strings.Join(notes, "\n") != strings.Join(wantNotes, "\n") {
			t.Errorf("diff --files %s %s: notes\n%s\nwant\n%s", pair[0], pair[1], strings.Join(notes, "\n"), strings.Join(wantNotes, "\n"))
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
	for _, cp := range []string{"installed", "updated", "rewritten", "Now"} {
		want := "  " + cp + ": Disk0-p1-grown-vault: LUKS2, locked (protectors: key slot 0 (pbkdf2-sha256))\n"
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("info: exit %d, no %q\n%s%s", code, want, out, errs)
		}
	}
	out, errs, code = ckptfs(t, "info", "--json", "--key", "password:vault secret", vm)
	var info struct {
		Encrypted []encryptedJSON `json:"encrypted_volumes"`
	}
	if err := json.Unmarshal([]byte(out), &info); code != exitOK || err != nil || len(info.Encrypted) != 4 {
		t.Fatalf("info --json --key: exit %d, %v\n%s%s", code, err, out, errs)
	}
	for _, e := range info.Encrypted {
		if e.Volume != "Disk0-p1-grown-vault" || e.Encryption != "luks2" || e.Locked || e.UnlockedBy != "key slot 0" || e.Error != "" {
			t.Errorf("info --json --key: %+v", e)
		}
	}
	out, errs, code = ckptfs(t, "ls", "--json", vm)
	var ls lsJSON
	if err := json.Unmarshal([]byte(out), &ls); code != exitOK || err != nil || len(ls.VMs) != 1 || len(ls.VMs[0].Checkpoints) != 4 {
		t.Fatalf("ls --json: exit %d, %v\n%s%s", code, err, out, errs)
	}
	for _, c := range ls.VMs[0].Checkpoints {
		if len(c.Encrypted) != 1 || c.Encrypted[0].Volume != "Disk0-p1-grown-vault" || !c.Encrypted[0].Locked ||
			len(c.OS) != 1 || c.OS[0].Volume != "Disk0-p1-grown-root" {
			t.Errorf("ls --json, checkpoint %s: encrypted %+v, os %+v", c.Name, c.Encrypted, c.OS)
		}
	}
}

// TestLVMLooseDisks: testdata/guest/lvmspanchain.sh's disk files without
// their VM's configuration (two chains of four files in one folder)
// are one VM, since their physical volumes are of one volume group: its
// four checkpoints and Now each hold both disks, and root, over both,
// reads in each state what the kernel read (cp of the whole volume, and
// the mount, every file's sha256 against stateN.list). A copy of one disk beside
// them is named in a warning and nothing is put together; chains of
// unequal length join their live states only, with a warning.
func TestLVMLooseDisks(t *testing.T) {
	dir := testutil.LVMSpanChain(t)
	loose := filepath.Join(dir, "loose")
	out, errs, code := ckptfs(t, "ls", "--json", loose)
	var ls lsJSON
	if err := json.Unmarshal([]byte(out), &ls); code != exitOK || err != nil || len(ls.VMs) != 1 || len(ls.VMs[0].Checkpoints) != 5 {
		t.Fatalf("ls --json: exit %d, %v\n%s%s", code, err, out, errs)
	}
	right, wrong := 0, 0
	for i, c := range ls.VMs[0].Checkpoints {
		if len(c.Disks) != 2 || !strings.HasPrefix(filepath.Base(c.Disks[0]), "grown-a") || !strings.HasPrefix(filepath.Base(c.Disks[1]), "grown-b") {
			t.Errorf("checkpoint %s: disks %v", c.Name, c.Disks)
		}
		state := min(i, 3) // the last frozen one and Now are both state 3
		dest := t.TempDir()
		if _, errs, code := ckptfs(t, "cp", loose, c.Name, "Disk0-p1-grown-root/", dest); code != exitOK {
			t.Fatalf("cp of root from %s: exit %d %s", c.Name, code, errs)
		}
		for p, e := range kernelState(t, dir, state) {
			vol, rel, _ := strings.Cut(p, "/")
			if vol != "Disk0-p1-grown-root" || e.typ != "f" {
				continue
			}
			if got := hashFile(t, filepath.Join(dest, "Disk0-p1-grown-root", rel)); got != e.sha {
				t.Errorf("%s: %s: sha256 %s, the kernel read %s", c.Name, rel, got, e.sha)
				wrong++
			} else {
				right++
			}
		}
	}
	t.Logf("root's files against the kernel's, 5 checkpoints (cp): %d right, %d wrong", right, wrong)

	// The mount (FUSE): every file of root and data in each checkpoint.
	testutil.NeedFUSE(t)
	m := startMount(t, nil, loose)
	right, wrong = 0, 0
	for i, c := range ls.VMs[0].Checkpoints {
		for p, e := range kernelState(t, dir, min(i, 3)) {
			if e.typ != "f" {
				continue
			}
			if got := hashFile(t, filepath.Join(m.Dir, "checkpoints", c.Name, p)); got != e.sha {
				t.Errorf("mount: %s/%s: sha256 %s, the kernel read %s", c.Name, p, got, e.sha)
				wrong++
			} else {
				right++
			}
		}
	}
	m.Stop()
	t.Logf("root's and data's files against the kernel's, 5 checkpoints (mount): %d right, %d wrong", right, wrong)

	// A copy of disk b's base beside them: which of the two is the real
	// pv1 is not guessed.
	ents, err := os.ReadDir(loose)
	if err != nil {
		t.Fatal(err)
	}
	linked := func(skip string) string {
		d := t.TempDir()
		for _, e := range ents {
			if e.Name() != skip {
				if err := os.Symlink(filepath.Join(loose, e.Name()), filepath.Join(d, e.Name())); err != nil {
					t.Fatal(err)
				}
			}
		}
		return d
	}
	copied := linked("")
	testutil.Run(t, "cp", "--sparse=always", filepath.Join(loose, "grown-b.vhdx"), filepath.Join(copied, "grown-b-copy.vhdx"))
	out, errs, code = ckptfs(t, "ls", copied)
	out += errs
	if code != exitOK || strings.Count(out, "(no configuration") != 3 || !strings.Contains(out, "grown-b-copy.vhdx and ") ||
		!strings.Contains(out, "physical volume pv1 (UUID GrowPB-0000-1111-2222-3333-4444-555566)") || !strings.Contains(out, "not put together") {
		t.Errorf("ls of the disks and a copy: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = ckptfs(t, "ls", "--json", copied)
	ls = lsJSON{}
	if err := json.Unmarshal([]byte(out), &ls); code != exitOK || err != nil || len(ls.VMs) != 3 || len(ls.Warnings) != 1 || !strings.Contains(ls.Warnings[0], "grown-b-copy.vhdx and ") {
		t.Errorf("ls --json of the disks and a copy: exit %d, %v\n%s%s", code, err, out, errs)
	}

	// b's last file gone: its chain has three files, a's four.
	var lastB string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "grown-b_") {
			if st, err := e.Info(); err == nil && st.ModTime().Day() == 4 {
				lastB = e.Name()
			}
		}
	}
	short := linked(lastB)
	out, errs, code = ckptfs(t, "ls", short)
	out += errs
	if code != exitOK || strings.Count(out, "(no configuration") != 1 || !strings.Contains(out, "chains have 4, 3 files") {
		t.Errorf("ls of unequal chains: exit %d\n%s%s", code, out, errs)
	}
	// Now: a's state 3 (equal to its states 1 and 2) and b's state 2:
	// state 2 (two.bin rewritten, payload.bin not yet).
	for path, key := range map[string]string{"/srv/big/two.bin": "Disk0-p1-grown-root/srv/big/two.bin", "/srv/data/payload.bin": "Disk1-vol-grown-data/payload.bin"} {
		out, errs, code = ckptfs(t, "cat", short, "Now", path)
		if want := kernelState(t, dir, 2)[key].sha; code != exitOK || sha256Hex(out) != want {
			t.Errorf("cat %s from Now of unequal chains: exit %d, sha256 %s, want %s %s", path, code, sha256Hex(out), want, errs)
		}
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
