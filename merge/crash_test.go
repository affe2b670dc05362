package merge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testchain"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// The crash test runs merges in a child process (this test binary, told
// by these variables) and kills it with CrashEnv.
const (
	childDirEnv   = "CKPTFS_MERGE_TEST_DIR"
	childNameEnv  = "CKPTFS_MERGE_TEST_NAME"
	childBatchEnv = "CKPTFS_MERGE_TEST_BATCH"
	childFoldEnv  = "CKPTFS_MERGE_TEST_FOLD" // set: the usual direction only
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
	if os.Getenv(childFoldEnv) != "" {
		for _, s := range p.Steps {
			s.forceFold()
		}
	}
	if _, err := p.Execute(context.Background(), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// crashCases are the merges the crash test kills: each direction, of a
// middle checkpoint and of the first one.
var crashCases = []struct {
	what   string
	spec   testchain.Spec
	x      int  // the checkpoint deleted
	fold   bool // force the usual direction
	absorb bool // the plan must choose the other direction
}{
	{"middle into child", crashSpec, 1, true, false},
	{"first into child", crashSpec, 0, true, false},
	{"first: child into base", crashBigBase, 0, false, true},
	{"middle: child into parent", crashBigMiddle, 1, false, true},
}

var (
	crashSpec      = testchain.Spec{Name: "crash", Size: 8 << 20, BlockSize: 1 << 20, DiffBlock: 1 << 20, SectorSize: 512, Layers: 3, Writes: 6, Seed: 5}
	crashBigBase   = testchain.Spec{Name: "crashb", Size: 16 << 20, BlockSize: 1 << 20, DiffBlock: 1 << 20, SectorSize: 512, Layers: 3, Writes: 8, LayerWrites: []int{20}, Seed: 6}
	crashBigMiddle = testchain.Spec{Name: "crashm", Size: 16 << 20, BlockSize: 1 << 20, DiffBlock: 1 << 20, SectorSize: 512, Layers: 4, Writes: 8, LayerWrites: []int{4, 20}, Seed: 7}
)

// TestMergeCrashPoints kills merges (see crashCases) at 20 durable steps
// spread over each merge. After every kill each surviving checkpoint
// reads its old content, and running the merge again completes it and
// leaves the other checkpoints' files byte-identical.
func TestMergeCrashPoints(t *testing.T) {
	for _, cc := range crashCases {
		t.Run(cc.what, func(t *testing.T) {
			g := testchain.Build(t, t.TempDir(), cc.spec)
			x := cc.x
			name := stem(g.Files[x])
			dir, files := testutil.CopyFiles(t, g.Files)
			p, rep := runMergeFold(t, dir, name, 1, cc.fold)
			if p.Steps[0].Absorb != cc.absorb {
				t.Fatalf("plan chose absorb=%v: %+v", p.Steps[0].Absorb, p.Steps[0])
			}
			total := rep.DurableSteps
			if total < 20 {
				t.Fatalf("merge of %s takes only %d durable steps", name, total)
			}
			t.Logf("%s: %d durable steps; %s", name, total, describeText(p))
			others := fileHashes(t, dir, files[x], files[x+1])
			for i := 0; i < 20; i++ {
				k := 1 + i*(total-1)/19
				dir, files = testutil.CopyFiles(t, g.Files)
				crashChild(t, dir, name, cc.fold, k, total)
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
				if got := fileHashes(t, dir, files[x], files[x+1]); !maps.Equal(got, others) {
					t.Fatalf("%s: other files changed", what)
				}
			}
		})
	}
}

// crashChild runs the merge in a child process killed after step k.
func crashChild(t *testing.T, dir, name string, fold bool, k, total int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childNameEnv+"="+name, childBatchEnv+"=1",
		CrashEnv+"="+strconv.Itoa(k))
	if fold {
		cmd.Env = append(cmd.Env, childFoldEnv+"=1")
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.Sys() == nil || ee.ExitCode() != -1 {
		t.Fatalf("merge of %s with crash at step %d of %d: %v\n%s", name, k, total, err, out)
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
