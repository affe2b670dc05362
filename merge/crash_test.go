package merge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testchain"
)

// The crash test runs merges in a child process (this test binary, told
// by these variables) and kills it with CrashEnv.
const (
	childDirEnv   = "CKPTFS_MERGE_TEST_DIR"
	childNameEnv  = "CKPTFS_MERGE_TEST_NAME"
	childBatchEnv = "CKPTFS_MERGE_TEST_BATCH"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		os.Exit(childMerge(dir, os.Getenv(childNameEnv)))
	}
	os.Exit(m.Run())
}

func childMerge(dir, name string) int {
	cat, err := catalog.Open(dir, catalog.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	p, err := New(cat, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	p.BatchPages, _ = strconv.Atoi(os.Getenv(childBatchEnv))
	if _, err := p.Execute(context.Background(), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

func copyDir(t *testing.T, files []string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	var out []string
	for _, f := range files {
		dst := filepath.Join(dir, filepath.Base(f))
		in, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		o, err := os.Create(dst)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(o, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		o.Close()
		out = append(out, dst)
	}
	return dir, out
}

// TestMergeCrashPoints kills merges of a middle and of the first
// checkpoint at 20 durable steps spread over each merge. After every
// kill each surviving checkpoint reads its old content, and running the
// merge again completes it.
func TestMergeCrashPoints(t *testing.T) {
	s := testchain.Spec{Name: "crash", Size: 8 << 20, BlockSize: 1 << 20, DiffBlock: 1 << 20, SectorSize: 512, Layers: 3, Writes: 6, Seed: 5}
	g := testchain.Build(t, t.TempDir(), s)
	for _, x := range []int{1, 0} {
		name := stem(g.Files[x])
		dir, _ := copyDir(t, g.Files)
		var files []string
		_, rep := runMerge(t, dir, name, 1)
		total := rep.DurableSteps
		if total < 20 {
			t.Fatalf("merge of %s takes only %d durable steps", name, total)
		}
		for i := 0; i < 20; i++ {
			k := 1 + i*(total-1)/19
			dir, files = copyDir(t, g.Files)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childNameEnv+"="+name, childBatchEnv+"=1",
				CrashEnv+"="+strconv.Itoa(k))
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ProcessState.Sys() == nil || ee.ExitCode() != -1 {
				t.Fatalf("merge of %s with crash at step %d of %d: %v\n%s", name, k, total, err, out)
			}
			want := expect{}
			for j, f := range files {
				if j != x {
					want[f] = g.States[j]
				}
			}
			what := fmt.Sprintf("merge of %s killed after step %d of %d", name, k, total)
			checkReadable(t, want, what)
			if k < total { // killed after its last step, the merge is complete
				runMerge(t, dir, name, 1)
			}
			checkSurvivors(t, dir, want, what+", run again")
		}
	}
}

// checkReadable compares the survivors' content, whatever else remains.
func checkReadable(t *testing.T, want expect, what string) {
	t.Helper()
	for f, content := range want {
		c := testchain.Open(t, f)
		if got := readImage(t, c); string(got) != string(content) {
			t.Fatalf("%s: %s reads other content", what, filepath.Base(f))
		}
	}
}
