//go:build linux

package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/vhdx"
)

// TestNotRegularSource gives Open what is not a disk: a FIFO named
// x.vhdx (which blocked open(2) forever), a character device, a link to
// one. Each is refused at once with ErrNotFile, a vhdx.ErrFormat. In a
// folder such names are skipped and the real disks are read.
func TestNotRegularSource(t *testing.T) {
	dir := chainDir(t, [][2]string{{"web.vhdx", ""}, {snap1 + ".avhdx", "web.vhdx"}})
	fifo := filepath.Join(dir, "x.vhdx")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.vhdx")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "cfg.vmcx"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{fifo, zero, "/dev/zero"} {
		done := make(chan error, 1)
		go func() {
			c, err := Open(src, Options{})
			if err == nil {
				c.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotFile) || !errors.Is(err, vhdx.ErrFormat) {
				t.Errorf("Open(%s) = %v, want ErrNotFile", src, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Open(%s) blocks", src)
		}
	}
	c := open(t, dir, Options{})
	if len(c.VMs) != 1 || len(c.VMs[0].Checkpoints) != 3 {
		t.Errorf("folder with a FIFO and a device: %+v, warnings %q", c.VMs, c.Warnings)
	}
}

// TestNoAtime reads a whole checkpoint through the catalog: the disk
// files' access times do not move.
func TestNoAtime(t *testing.T) {
	dir := chainDir(t, [][2]string{{"web.vhdx", ""}, {snap1 + ".avhdx", "web.vhdx"}})
	old := time.Unix(1_000_000_000, 0)
	files := []string{filepath.Join(dir, "web.vhdx"), filepath.Join(dir, snap1+".avhdx")}
	for _, f := range files {
		if err := os.Chtimes(f, old, old); err != nil {
			t.Fatal(err)
		}
	}
	c := open(t, dir, Options{})
	now, err := c.VMs[0].Find("Now")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	ch := now.Disks[0].Chain
	for off := int64(0); off < ch.Size(); off += int64(len(buf)) {
		if _, err := ch.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	for _, f := range files {
		var st syscall.Stat_t
		if err := syscall.Stat(f, &st); err != nil {
			t.Fatal(err)
		}
		if st.Atim.Sec != old.Unix() {
			t.Errorf("%s: access time moved to %v", f, time.Unix(st.Atim.Sec, 0))
		}
	}
}

// TestLockShared locks the catalog's files through the files it reads:
// a merge's exclusive lock then fails, and a catalog cannot lock what a
// merge holds.
func TestLockShared(t *testing.T) {
	dir := chainDir(t, [][2]string{{"web.vhdx", ""}, {snap1 + ".avhdx", "web.vhdx"}})
	c := open(t, dir, Options{})
	release, err := c.LockShared()
	if err != nil {
		t.Fatal(err)
	}
	child := filepath.Join(dir, snap1+".avhdx")
	f, err := os.Open(child)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Errorf("exclusive lock while the catalog holds a shared one: %v", err)
	}
	release()
	release()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("exclusive lock after release: %v", err)
	}
	if _, err := c.LockShared(); !errors.Is(err, ErrLocked) {
		t.Errorf("LockShared while a merge holds %s: %v, want ErrLocked", child, err)
	}
}

// TestLocalSource checks the local source's listing and identities: a
// link to a disk is the same file, a dangling link is left out.
func TestLocalSource(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.vhdx")
	if err := os.WriteFile(a, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink(a, filepath.Join(dir, "b.vhdx"))
	os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "c.vhdx"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	ents, err := Local{}.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 3 || ents[0].Name != a || ents[1].ID != ents[0].ID || !ents[1].Link || ents[0].Link || !ents[2].IsDir {
		t.Fatalf("ReadDir: %+v", ents)
	}
	f, err := Local{}.Open(filepath.Join(dir, "b.vhdx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Identity() != ents[0].ID || f.Size() != 1 {
		t.Errorf("opened identity %+v size %d, listed %+v", f.Identity(), f.Size(), ents[0].ID)
	}
	if _, err := (Local{}).Open(dir); !errors.Is(err, ErrNotFile) {
		t.Errorf("Open(folder) = %v", err)
	}
}
