package merge

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testchain"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestPendingMergeSeen kills each merge of crashCases after every one of
// its durable steps but the last, and opens the folder the way every
// command does. While the journal is there: the catalog lists the pending
// merge and a warning gives the command that completes it; the VM keeps
// one live state, "Now", with the leaf's content (no "Now-<stem>" from a
// file half removed); the checkpoint being deleted, while its file is
// there, is marked Merging and either reads its own old content (the
// usual direction never writes it) or refuses to be read (the other
// direction overwrites it with the next checkpoint's sectors); the
// checkpoints next to it read their own content.
func TestPendingMergeSeen(t *testing.T) {
	for _, cc := range crashCases {
		t.Run(cc.what, func(t *testing.T) {
			t.Parallel() // each kill waits on its child process
			g := testchain.Build(t, t.TempDir(), cc.spec)
			name := stem(g.Files[cc.x])
			dir, _ := testutil.CopyFiles(t, g.Files)
			_, rep := runMergeFold(t, dir, name, 1, cc.fold)
			total := rep.DurableSteps
			for k := 1; k < total; k++ {
				dir := memCopy(t, g.Files)
				crashChild(t, dir, name, cc.fold, k, total)
				checkPending(t, g, cc.x, cc.absorb, dir, fmt.Sprintf("%s killed after step %d of %d", name, k, total))
			}
			t.Logf("%s: %d crash points seen", name, total-1)
		})
	}
}

func checkPending(t *testing.T, g testchain.Chain, x int, absorb bool, dir, what string) {
	t.Helper()
	cat, err := catalog.Open(dir, catalog.Options{})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer cat.Close()
	name := stem(g.Files[x])
	if len(cat.Pending) != 1 || cat.Pending[0].Checkpoint != name || cat.Pending[0].Absorb() != absorb {
		t.Fatalf("%s: pending %+v", what, cat.Pending)
	}
	warned := false
	for _, w := range cat.Warnings {
		warned = warned || strings.Contains(w, "ckptfs merge "+dir+" "+name)
	}
	if !warned {
		t.Errorf("%s: no warning gives the command: %q", what, cat.Warnings)
	}
	if len(cat.VMs) != 1 {
		t.Fatalf("%s: %d VMs", what, len(cat.VMs))
	}
	var live []string
	for _, cp := range cat.VMs[0].Checkpoints {
		if cp.Live {
			live = append(live, cp.Name)
		}
	}
	if len(live) != 1 || live[0] != "Now" {
		t.Fatalf("%s: live states %q, want Now", what, live)
	}
	last := len(g.Files) - 1
	for i, f := range g.Files {
		cp, err := cat.VMs[0].Find(stem(f))
		if i == x {
			checkBeingMerged(t, cp, err, g.States[x], absorb, what)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %s: %v", what, stem(f), err)
		}
		if cp.Merging != nil || cp.ReadErr() != nil {
			t.Fatalf("%s: %s is marked as being merged", what, stem(f))
		}
		// The files the merge changes are read; TestMergeCrashPoints
		// reads the others.
		if (i == x+1 || i == x-1) && !bytes.Equal(readImage(t, cp.Disks[0].Chain), g.States[i]) {
			t.Fatalf("%s: %s reads other content", what, stem(f))
		}
	}
	now, _ := cat.VMs[0].Find("Now")
	if !bytes.Equal(readImage(t, now.Disks[0].Chain), g.States[last]) {
		t.Fatalf("%s: Now reads other content", what)
	}
}

// checkBeingMerged: the file gone (the merge's last steps), the
// checkpoint is gone; else it is marked and never reads other bytes.
func checkBeingMerged(t *testing.T, cp *catalog.Checkpoint, err error, old []byte, absorb bool, what string) {
	t.Helper()
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return
	case err != nil:
		t.Fatalf("%s: the checkpoint being deleted: %v", what, err)
	case cp.Merging == nil:
		t.Fatalf("%s: %s is not marked as being merged", what, cp.Name)
	case absorb:
		if err := cp.ReadErr(); !errors.Is(err, catalog.ErrMerging) || cp.Disks[0].Chain != nil {
			t.Fatalf("%s: %s can be read while its content is replaced (%v)", what, cp.Name, err)
		}
	case cp.ReadErr() != nil:
		t.Fatalf("%s: %s refused although it keeps its content: %v", what, cp.Name, cp.ReadErr())
	case !bytes.Equal(readImage(t, cp.Disks[0].Chain), old):
		t.Fatalf("%s: %s reads other content", what, cp.Name)
	}
}

// memCopy copies files into a folder in memory (/dev/shm) when there is
// one: each killed merge syncs every step it took, and on a disk the
// test's hundreds of runs would mostly wait for those syncs.
func memCopy(t *testing.T, files []string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "ckptfs-pending")
	if err != nil {
		dir, _ = testutil.CopyFiles(t, files)
		return dir
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
