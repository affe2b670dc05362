//go:build linux

package mount

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// lockExclusive holds LOCK_EX on name as a merge would, until cleanup.
func lockExclusive(t *testing.T, name string) (unlock func()) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		t.Fatalf("exclusive lock: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return func() { f.Close() }
}

func TestLockShared(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.vhdx"), filepath.Join(dir, "b.avhdx")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rel1, err := LockShared([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	rel2, err := LockShared([]string{a, b})
	if err != nil {
		t.Fatalf("two readers must share: %v", err)
	}
	rel1()
	rel2()
	rel2() // releasing twice is harmless

	unlock := lockExclusive(t, b)
	if _, err := LockShared([]string{a, b}); !errors.Is(err, ErrLocked) {
		t.Errorf("with a merge holding %s: %v, want ErrLocked", b, err)
	}
	unlock()
	rel, err := LockShared([]string{a, b})
	if err != nil {
		t.Fatalf("after the merge: %v", err)
	}
	// While readers hold the files, a merge cannot start.
	f, _ := os.Open(a)
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != syscall.EWOULDBLOCK {
		t.Errorf("exclusive lock beside a reader: %v, want EWOULDBLOCK", err)
	}
	rel()

	if _, err := LockShared([]string{filepath.Join(dir, "missing")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
