package diff

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// stateDir is where testdata/diff/gen.sh puts the raw states (git-ignored).
func stateDir() string { return filepath.Join(testutil.RepoRoot(), "testdata", "out", "diff") }

var genOnce sync.Mutex

// states returns the raw disk states made by gen.sh, running it when they
// are missing.
func states(t testing.TB) [3][]byte {
	t.Helper()
	genOnce.Lock()
	defer genOnce.Unlock()
	last := filepath.Join(stateDir(), "state2.manifest")
	if _, err := os.Stat(last); err != nil {
		for _, tool := range []string{"mkntfs", "ntfs-3g", "sgdisk", "setfattr", "getfattr", "openssl"} {
			testutil.NeedTool(t, tool)
		}
		testutil.NeedFUSE(t)
		defer testutil.LockFixtures(t)()
	}
	if _, err := os.Stat(last); err != nil {
		script := filepath.Join(testutil.RepoRoot(), "testdata", "diff", "gen.sh")
		if out, err := exec.Command("bash", script, stateDir()).CombinedOutput(); err != nil {
			t.Fatalf("gen.sh: %v\n%s", err, out)
		}
	}
	var s [3][]byte
	for i := range s {
		b, err := os.ReadFile(filepath.Join(stateDir(), "state"+string(rune('0'+i))+".img"))
		if err != nil {
			t.Fatal(err)
		}
		s[i] = b
	}
	return s
}

// writeSectors writes into w the 512-byte sectors where cur differs from
// prev (prev nil: every sector that is not all zeros), plus the extra
// spans whatever they hold.
func writeSectors(t testing.TB, w *vhdx.Writer, prev, cur []byte, extra []span) {
	t.Helper()
	const sec = 512
	zero := make([]byte, sec)
	runs := extra
	for off := 0; off < len(cur); off += sec {
		old := zero
		if prev != nil {
			old = prev[off : off+sec]
		}
		if !bytes.Equal(old, cur[off:off+sec]) {
			runs = append(runs, span{int64(off), int64(off + sec)})
		}
	}
	for _, r := range normalize(runs) {
		if _, err := w.WriteAt(cur[r.off:r.end], r.off); err != nil {
			t.Fatal(err)
		}
	}
}

// layer creates path over parent (nil for a base disk) holding cur's
// changes from prev.
func layer(t testing.TB, path string, parent string, prev, cur []byte, extra []span) {
	t.Helper()
	opt := vhdx.CreateOptions{VirtualSize: int64(len(cur)), BlockSize: 2 << 20}
	if parent != "" {
		p, err := vhdx.OpenDisk(parent)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		opt = vhdx.CreateOptions{Parent: p, ParentPath: parent}
	}
	w, err := vhdx.Create(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	writeSectors(t, w, prev, cur, extra)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// openVM opens the folder without configuration: one checkpoint per disk
// file, named by its stem.
func openVM(t testing.TB, dir string) *catalog.VM {
	t.Helper()
	c, err := catalog.Open(dir, catalog.Options{NoConfig: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if len(c.VMs) != 1 {
		t.Fatalf("%d VMs in %s", len(c.VMs), dir)
	}
	return c.VMs[0]
}

func find(t testing.TB, vm *catalog.VM, name string) *catalog.Checkpoint {
	t.Helper()
	c, err := vm.Find(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sectorDiff returns the 512-byte sectors where two raw images differ.
func sectorDiff(a, b []byte) []span {
	var out []span
	differingSectorsAll := differingSectors(nil, a, b, 0, 512)
	out = append(out, differingSectorsAll...)
	return normalize(out)
}
