//go:build linux

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/merge"
)

// The checkpoint of testdata/guest/lvmspanchain.sh's disks at state 1
// ("updated"), where both disks changed, and what remains after it goes:
// each remaining checkpoint's name in the loose folder and its state.
const lvmMergeX = "grown-a_11C3FE5A-819E-456C-A032-D8F6BE802074"

var lvmMergeLeft = []struct {
	name  string
	state int
}{{"grown-a", 0}, {"grown-a_E3ABB8A2-2A2D-45BD-994B-5A4E24B36618", 2}, {"grown-a_B02F66C4-4875-4D50-8AF0-67DBF26F1B49", 3}, {"Now", 3}}

// TestMergeLooseLVMPair: merge of a checkpoint of loose disks the catalog
// pairs (testdata/guest/lvmspanchain.sh's two disks of one LVM volume
// group, no configuration) folds both disks: afterwards the checkpoint is
// gone, the others still hold both disks, their raw images are the bytes
// they were, and root's and data's files (root over both disks) are what
// the kernel read in each state. Killed at points spread over the merge
// (while the journals are written, in the first disk's fold, in the
// second's), every command shows the pending merge and names the command
// completing it, every remaining disk file reads as before, and that
// command, the same one, completes both folds: before, a kill in the
// first disk's fold left the disks unpaired and the rerun folded that disk
// only (the other kept the checkpoint, their states apart for good), and
// a kill in the second's made the name unknown.
func TestMergeLooseLVMPair(t *testing.T) {
	dir := testutil.LVMSpanChain(t)
	loose := filepath.Join(dir, "loose")
	ents, err := os.ReadDir(loose)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range ents {
		files = append(files, filepath.Join(loose, e.Name()))
	}
	raws := pairRaws(t, loose)
	gone := []string{lvmMergeX, "grown-b_2182D317-D2CC-442B-B1CE-7E9865005864"}
	byFile := fileReads(t, loose, gone...)

	work, _ := copyChain(t, files)
	out, errs, code := ckptfs(t, "merge", "--yes", "--json", work, lvmMergeX)
	m := durableRE.FindStringSubmatch(out)
	if code != exitOK || m == nil || strings.Count(out, `"action": "fold"`) != 2 {
		t.Fatalf("merge: exit %d %s %s", code, out, errs)
	}
	total, _ := strconv.Atoi(m[1])
	checkMergedPair(t, dir, work, raws, true)

	bin := ckptfsBinary(t)
	complete := regexp.QuoteMeta("`ckptfs merge ") + `\S+ ` + lvmMergeX + "`"
	inSecond := 0
	for _, k := range []int{1, 2, total / 4, total / 2, 3 * total / 4, total - 2, total - 1} {
		work := crashedMerge(t, bin, files, lvmMergeX, k)
		what := "killed after step " + strconv.Itoa(k) + " of " + strconv.Itoa(total)
		_, errA := os.Stat(filepath.Join(work, lvmMergeX+".avhdx"))
		journals, _ := filepath.Glob(filepath.Join(work, ".grown-b_*.ckptfs-merge"))
		if os.IsNotExist(errA) && len(journals) == 1 {
			inSecond++
		}
		out, errs, code := ckptfs(t, "ls", work)
		if code != exitOK || !regexp.MustCompile(complete).MatchString(out+errs) {
			t.Errorf("%s: ls: exit %d, no %s\n%s%s", what, code, complete, out, errs)
		}
		out, errs, code = ckptfs(t, "check", work)
		if code != exitProblems || !regexp.MustCompile(complete).MatchString(out+errs) {
			t.Errorf("%s: check: exit %d\n%s%s", what, code, out, errs)
		}
		for name, sum := range fileReads(t, work, gone...) {
			if want, ok := byFile[name]; !ok || want != sum {
				t.Errorf("%s: %s reads other bytes", what, name)
			}
		}
		if _, errs, code := ckptfs(t, "merge", "--yes", work, lvmMergeX); code != exitOK {
			t.Fatalf("%s: the same merge again: exit %d %s", what, code, errs)
		}
		checkMergedPair(t, dir, work, raws, k == total/2)
	}
	if inSecond == 0 {
		t.Errorf("no kill fell in the second disk's fold")
	}

	// With the VM's configuration, killed in the second disk's fold: the
	// configuration names the first disk's removed file, which is not
	// a fault then (merge refused to act on a folder with one).
	vmDir := filepath.Join(dir, "vm")
	names := []string{"installed", "rewritten", "Now"}
	before := map[string]string{}
	for _, n := range names {
		for _, d := range []string{"Disk0", "Disk1"} {
			raw, _, _ := ckptfs(t, "cat", vmDir, n, "disks/"+d+".raw")
			before[n+"/"+d] = sha256Hex(raw)
		}
	}
	work = t.TempDir()
	testutil.Run(t, "cp", "-a", "--sparse=always", vmDir+"/.", work)
	cmd := exec.Command(bin, "merge", "--yes", work, "updated")
	cmd.Env = append(os.Environ(), merge.CrashEnv+"="+strconv.Itoa(total-3))
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("merge of updated not killed: %s", out)
	}
	journals, _ := filepath.Glob(filepath.Join(work, ".*.ckptfs-merge"))
	if len(journals) != 1 || !strings.Contains(journals[0], "grown-b_") {
		t.Fatalf("killed after step %d: journals %q", total-3, journals)
	}
	out, errs, code = ckptfs(t, "check", work)
	if code != exitProblems || !strings.Contains(out+errs, "`ckptfs merge "+work+" updated`") || strings.Contains(out+errs, "not found") {
		t.Errorf("configured VM killed in the second fold: check: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code := ckptfs(t, "merge", "--yes", work, "updated"); code != exitOK {
		t.Fatalf("configured VM: the same merge again: exit %d %s", code, errs)
	}
	for _, n := range names {
		for _, d := range []string{"Disk0", "Disk1"} {
			if raw, errs, code := ckptfs(t, "cat", work, n, "disks/"+d+".raw"); code != exitOK || sha256Hex(raw) != before[n+"/"+d] {
				t.Errorf("configured VM after the merge: %s %s: exit %d %s", n, d, code, errs)
			}
		}
	}
}

// pairRaws hashes the raw images of both disks of every checkpoint that
// remains after lvmMergeX goes.
func pairRaws(t *testing.T, src string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range lvmMergeLeft {
		for _, d := range []string{"Disk0", "Disk1"} {
			raw, errs, code := ckptfs(t, "cat", src, c.name, "disks/"+d+".raw")
			if code != exitOK {
				t.Fatalf("cat %s %s: exit %d %s", c.name, d, code, errs)
			}
			out[c.name+"/"+d] = sha256Hex(raw)
		}
	}
	return out
}

// fileReads hashes what each disk file's chain reads, but the named ones.
func fileReads(t *testing.T, dir string, except ...string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
next:
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), "vhdx") {
			continue
		}
		for _, x := range except {
			if strings.HasPrefix(e.Name(), x) {
				continue next
			}
		}
		c, files, err := catalog.OpenChain(filepath.Join(dir, e.Name()), catalog.Options{})
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(c, 0, c.Size())); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		files.Close()
		out[e.Name()] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

// checkMergedPair checks the folder after the merge: lvmMergeX and its
// b disk gone, no journal, one VM of four checkpoints of both disks,
// their raw images as before, and (files) root's and data's files as
// the kernel read them.
func checkMergedPair(t *testing.T, dir, work string, raws map[string]string, files bool) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(work, "*"))
	hidden, _ := filepath.Glob(filepath.Join(work, ".*"))
	if len(left) != 6 || len(hidden) != 0 {
		t.Errorf("after the merge: %q %q", left, hidden)
	}
	out, errs, code := ckptfs(t, "ls", "--json", work)
	var ls lsJSON
	if err := json.Unmarshal([]byte(out), &ls); code != exitOK || err != nil || len(ls.VMs) != 1 || len(ls.VMs[0].Checkpoints) != 4 || len(ls.Warnings) != 0 {
		t.Fatalf("ls --json after the merge: exit %d, %v\n%s%s", code, err, out, errs)
	}
	for i, c := range ls.VMs[0].Checkpoints {
		if c.Name != lvmMergeLeft[i].name || len(c.Disks) != 2 {
			t.Errorf("after the merge, checkpoint %d: %s %v", i, c.Name, c.Disks)
		}
	}
	if _, errs, code := ckptfs(t, "cat", work, lvmMergeX, "disks/Disk0.raw"); code != exitNotFound {
		t.Errorf("cat of the merged checkpoint: exit %d %s", code, errs)
	}
	if got := pairRaws(t, work); len(got) != len(raws) {
		t.Errorf("raw images: %d, want %d", len(got), len(raws))
	} else {
		for k, v := range raws {
			if got[k] != v {
				t.Errorf("after the merge, %s reads other bytes", k)
			}
		}
	}
	if !files {
		return
	}
	right, wrong := 0, 0
	for _, c := range lvmMergeLeft {
		dest := t.TempDir()
		for _, vol := range []string{"Disk0-p1-grown-root/", "Disk1-vol-grown-data/"} {
			if _, errs, code := ckptfs(t, "cp", work, c.name, vol, dest); code != exitOK {
				t.Fatalf("cp of %s from %s: exit %d %s", vol, c.name, code, errs)
			}
		}
		for p, e := range kernelState(t, dir, c.state) {
			if e.typ != "f" {
				continue
			}
			if got := hashFile(t, filepath.Join(dest, p)); got != e.sha {
				t.Errorf("after the merge, %s: %s: sha256 %s, the kernel read %s", c.name, p, got, e.sha)
				wrong++
			} else {
				right++
			}
		}
	}
	t.Logf("after the merge, root's and data's files against the kernel's: %d right, %d wrong", right, wrong)
}
