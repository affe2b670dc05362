//go:build linux

package btrfs_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/btrfs"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// loggedImage builds (once) testdata/btrfs/logged.sh's images: a volume
// frozen with fsync'd changes only in its log tree, and the kernel's
// replay of it.
func loggedImage(t *testing.T) (img, replayed string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "the logged btrfs image is written through a loop mount: root only")
	}
	for _, tool := range []string{"mkfs.btrfs", "losetup", "mount", "setfattr", "od"} {
		testutil.NeedTool(t, tool)
	}
	out := testutil.OutDir("btrfs")
	img, replayed = filepath.Join(out, "logged.img"), filepath.Join(out, "logged.replayed.img")
	unlock := testutil.LockFixtures(t)
	defer unlock()
	if _, err := os.Stat(replayed); err == nil {
		return img, replayed
	}
	cmd := exec.Command("bash", filepath.Join(testutil.RepoRoot(), "testdata", "btrfs", "logged.sh"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testdata/btrfs/logged.sh: %v\n%s", err, b)
	}
	return img, replayed
}

// TestLogReplay opens a volume whose last changes live only in its log
// tree: every path reads as the kernel shows it after its own replay
// (names, sizes, link counts, times, xattrs, contents), and the same
// volume opened without recovery lacks them.
func TestLogReplay(t *testing.T) {
	img, replayed := loggedImage(t)
	v, _ := openImage(t, img)
	if st := v.Log(); !st.Replayed || st.Items == 0 {
		t.Fatalf("log %+v (%s)", st, st)
	}
	fsys, err := v.Subvolume(v.DefaultSubvolume())
	if err != nil {
		t.Fatal(err)
	}
	mnt := kernelMount(t, replayed, "")[0]
	c := compareTree(t, fsys, mnt)
	t.Logf("%s: %d files, %d folders, %d bytes compared", v.Log(), c.files, c.dirs, c.bytes)

	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	old, err := btrfs.NewVolumeOptions(f, st.Size(), btrfs.Options{NoRecovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := old.Log().String(); !strings.HasPrefix(s, "NOT replayed") {
		t.Errorf("without recovery the log reads %q", s)
	}
	ofs, err := old.Subvolume(old.DefaultSubvolume())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ofs.Stat("big2"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the unreplayed volume has the file only the log held (%v): the fixture tests nothing", err)
	}
}
