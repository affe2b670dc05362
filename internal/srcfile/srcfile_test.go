//go:build linux

package srcfile

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestRefused opens what is not a disk image: each must fail at once
// with ErrNotFile (a FIFO would block open(2) forever without a writer).
func TestRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "x.vhdx")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.vhdx")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{fifo, link, dir, "/dev/zero", "/dev/null"} {
		done := make(chan error, 1)
		go func() {
			f, _, _, err := Open(name)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotFile) {
				t.Errorf("%s: %v, want ErrNotFile", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Open blocks", name)
		}
	}
}

// TestRegular opens a regular file and a link to it, with O_NOATIME:
// the file's access time does not move when it is read.
func TestRegular(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.vhdx")
	if err := os.WriteFile(name, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Unix(1_000_000_000, 0)
	if err := os.Chtimes(name, old, old); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "b.vhdx")
	if err := os.Symlink(name, link); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{name, link} {
		f, st, size, err := Open(n)
		if err != nil {
			t.Fatal(err)
		}
		if size != 10 || !st.Mode().IsRegular() {
			t.Errorf("%s: size %d mode %v", n, size, st.Mode())
		}
		if !NoAtime(f) {
			t.Errorf("%s: opened without O_NOATIME although this process may use it", n)
		}
		buf := make([]byte, 10)
		if _, err := f.ReadAt(buf, 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	var st syscall.Stat_t
	if err := syscall.Stat(name, &st); err != nil {
		t.Fatal(err)
	}
	if st.Atim.Sec != old.Unix() {
		t.Errorf("access time moved to %d", st.Atim.Sec)
	}
}

const childEnv = "CKPTFS_SRCFILE_CHILD"

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		f, _, _, err := Open(name)
		if err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(2)
		}
		if NoAtime(f) {
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestNotOwner opens, as another user, a file that user may read but
// does not own: O_NOATIME is refused (EPERM) and the open falls back
// silently to a plain one.
func TestNotOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	dir, err := os.MkdirTemp("", "srcfile")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	name := filepath.Join(dir, "a.vhdx")
	if err := os.WriteFile(name, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "child.test") // the build folder is root's only
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == 3:
		t.Fatal("O_NOATIME was used on a file the user does not own")
	case err != nil:
		t.Fatalf("child as uid 65534: %v: %s", err, out)
	}
}
