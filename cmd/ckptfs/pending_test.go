//go:build linux

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/merge"
	"github.com/ckptfs/ckptfs/vhdx"
)

// absorbChain writes base <- X <- C where X holds much more than C, so
// that deleting X takes the other direction: C's sectors go into X, which
// then takes C's place. Killed half way, X's file holds C's bytes.
func absorbChain(t *testing.T) (dir string, files []string) {
	t.Helper()
	dir = t.TempDir()
	var parent *vhdx.Disk
	blocks := []int{1, 8, 1}
	for i, name := range []string{"srv.vhdx", "srv_8F1D2C3B-0000-4000-8000-00000000000A.avhdx", "srv_8F1D2C3B-0000-4000-8000-00000000000B.avhdx"} {
		p := filepath.Join(dir, name)
		opt := vhdx.CreateOptions{VirtualSize: 16 << 20, BlockSize: 1 << 20}
		if parent != nil {
			opt = vhdx.CreateOptions{Parent: parent, BlockSize: 1 << 20}
		}
		w, err := vhdx.Create(p, opt)
		if err != nil {
			t.Fatal(err)
		}
		for b := 0; b < blocks[i]; b++ {
			if _, err := w.WriteAt(bytes.Repeat([]byte{byte(0x10*i + b + 1)}, 64<<10), int64(b)<<20); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if parent != nil {
			parent.Close()
		}
		if parent, err = vhdx.OpenDisk(p); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	parent.Close()
	return dir, files
}

func copyChain(t *testing.T, files []string) (string, []string) {
	t.Helper()
	return testutil.CopyFiles(t, files)
}

var (
	durableRE = regexp.MustCompile(`"durable_steps": (\d+)`)
	nowRE     = regexp.MustCompile(`\n\s+Now  .*\[live\]`)
)

// crashedMerge deletes X with the real binary killed after step k (of
// the total a full merge takes), and returns the folder left behind.
func crashedMerge(t *testing.T, bin string, files []string, x string, k int) string {
	t.Helper()
	dir, _ := copyChain(t, files)
	cmd := exec.Command(bin, "merge", "--yes", dir, x)
	cmd.Env = append(os.Environ(), merge.CrashEnv+"="+strconv.Itoa(k))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("merge killed after step %d: %v\n%s", k, err, out)
	}
	return dir
}

// TestPendingMergeCommands kills a merge that deletes X by overwriting it
// with its child's sectors, and runs the commands on what is left: ls
// marks X "being merged" and gives the command that completes the merge;
// check lists it as a problem; cat of X refuses (exit 8) while Now reads
// its content; the mount lists X without a raw image and serves Now; the
// merge run again completes.
func TestPendingMergeCommands(t *testing.T) {
	testutil.NeedFUSE(t)
	_, files := absorbChain(t)
	x := strings.TrimSuffix(filepath.Base(files[1]), ".avhdx")
	full, _ := copyChain(t, files)
	wantNow, _, _ := ckptfs(t, "cat", full, "Now", "disks/Disk0.raw")
	out, errs, code := ckptfs(t, "merge", "--yes", "--json", full, x)
	m := durableRE.FindStringSubmatch(out)
	if code != exitOK || m == nil || !strings.Contains(out, "the usual way would write") {
		t.Fatalf("full merge: exit %d, %s %s", code, out, errs)
	}
	total, _ := strconv.Atoi(m[1])
	bin := ckptfsBinary(t)

	for _, k := range []int{2, total / 2, total - 2} {
		dir := crashedMerge(t, bin, files, x, k)
		what := "killed after step " + strconv.Itoa(k)
		complete := "ckptfs merge " + dir + " " + x
		out, _, code := ckptfs(t, "ls", dir)
		gone := k >= total-2 // X's file was renamed over its child's
		if code != exitOK || gone == strings.Contains(out, x+"  ") || gone == strings.Contains(out, "[being merged]") ||
			!strings.Contains(out, complete) || strings.Contains(out, "Now-") || !nowRE.MatchString(out) {
			t.Errorf("%s: ls: exit %d\n%s", what, code, out)
		}
		out, _, code = ckptfs(t, "ls", "--json", dir)
		if code != exitOK || !strings.Contains(out, `"pending_merges"`) || !strings.Contains(out, `"command": "`+complete+`"`) ||
			gone == strings.Contains(out, `"being_merged": true`) {
			t.Errorf("%s: ls --json: exit %d\n%s", what, code, out)
		}
		out, _, code = ckptfs(t, "check", dir)
		if code != exitProblems || !strings.Contains(out, complete) {
			t.Errorf("%s: check: exit %d\n%s", what, code, out)
		}
		if _, errs, code := ckptfs(t, "cat", dir, x, "disks/Disk0.raw"); code != exitRefused || !strings.Contains(errs, "being merged") || !strings.Contains(errs, complete) {
			t.Errorf("%s: cat of the checkpoint being deleted: exit %d %s", what, code, errs)
		}
		if got, errs, code := ckptfs(t, "cat", dir, "Now", "disks/Disk0.raw"); code != exitOK || got != wantNow {
			t.Errorf("%s: cat Now: exit %d %s", what, code, errs)
		}
		if k == 2 {
			checkPendingMount(t, dir, x, complete, wantNow)
		}
		if _, errs, code := ckptfs(t, "merge", "--yes", dir, x); code != exitOK {
			t.Fatalf("%s: merge run again: exit %d %s", what, code, errs)
		}
		out, _, _ = ckptfs(t, "ls", dir)
		if strings.Contains(out, "being merged") || strings.Contains(out, "warning") || strings.Contains(out, x) {
			t.Errorf("%s: after the merge completed:\n%s", what, out)
		}
	}
}

// checkPendingMount mounts the folder with the real binary: the warning
// names the pending merge, X has no raw image, Now reads as before.
func checkPendingMount(t *testing.T, dir, x, complete, wantNow string) {
	t.Helper()
	m := startMount(t, nil, dir)
	mnt := m.Dir
	defer func() {
		if stderr := m.Stop(); !strings.Contains(stderr, complete) {
			t.Errorf("mount does not name the pending merge: %s", stderr)
		}
	}()
	ents, err := os.ReadDir(filepath.Join(mnt, "checkpoints"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "Now srv "+x+" srv_8F1D2C3B-0000-4000-8000-00000000000B" {
		t.Errorf("checkpoints %q", names)
	}
	if _, err := os.Stat(filepath.Join(mnt, "checkpoints", x, "disks", "Disk0.raw")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the checkpoint being deleted has a raw image: %v", err)
	}
	js, err := os.ReadFile(filepath.Join(mnt, "checkpoints", x, "checkpoint.json"))
	if err != nil || !bytes.Contains(js, []byte("being merged")) {
		t.Errorf("checkpoint.json of %s: %v %s", x, err, js)
	}
	got, err := os.ReadFile(filepath.Join(mnt, "checkpoints", "Now", "disks", "Disk0.raw"))
	if err != nil || string(got) != wantNow {
		t.Errorf("Now through the mount: %v", err)
	}
}
