//go:build linux

package guest

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestBtrfsLogTree freezes a btrfs volume the way a checkpoint of a
// running guest does, right after an fsync (which writes a log tree
// instead of committing): the volume replays it (the fsync'd file is
// there) and says so; with NoRecovery it says it did not; a clean volume
// says nothing.
func TestBtrfsLogTree(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "the frozen btrfs image is written through a loop mount: root only")
	}
	for _, tool := range []string{"mkfs.btrfs", "losetup", "mount", "umount"} {
		testutil.NeedTool(t, tool)
	}
	dir := t.TempDir()
	base, frozen, mnt := filepath.Join(dir, "base.img"), filepath.Join(dir, "frozen.img"), filepath.Join(dir, "m")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(base, 128<<20); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "mkfs.btrfs", "-q", "-f", base)
	loop := strings.TrimSpace(string(testutil.Run(t, "losetup", "-f", "--show", base)))
	defer exec.Command("losetup", "-d", loop).Run()
	testutil.Run(t, "mount", loop, mnt)
	mounted := true
	defer func() {
		if mounted {
			exec.Command("umount", mnt).Run()
		}
	}()
	if err := os.WriteFile(filepath.Join(mnt, "committed"), []byte("before the sync\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "sync", "-f", mnt)
	f, err := os.Create(filepath.Join(mnt, "fsynced"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("only in the log tree\n")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	testutil.Run(t, "cp", "--sparse=always", base, frozen)
	testutil.Run(t, "umount", mnt)
	mounted = false

	cases := []struct {
		img     string
		o       *Options
		journal string // prefix
		fsynced bool
	}{
		{frozen, nil, "replayed (", true},
		{frozen, &Options{NoRecovery: true}, "NOT replayed", false},
		{base, nil, "", true},
	}
	for _, c := range cases {
		r, err := os.Open(c.img)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		st, _ := r.Stat()
		vols, err := c.o.Volumes(r, st.Size(), "Disk0")
		if err != nil || len(vols) != 1 || vols[0].FS == nil {
			t.Fatalf("%s: %+v %v", c.img, vols, err)
		}
		j := vols[0].Journal
		_, statErr := fs.Stat(vols[0].FS, "fsynced")
		if !strings.HasPrefix(j, c.journal) || (c.journal == "") != (j == "") || (statErr == nil) != c.fsynced {
			t.Errorf("%s %+v: journal state %q, fsynced file: %v", filepath.Base(c.img), c.o, j, statErr)
		}
	}
}
