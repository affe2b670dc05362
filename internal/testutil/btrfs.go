package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	btrfsOnce sync.Once
	btrfsErr  error
)

// BtrfsImages builds testdata/btrfs/gen.sh's images (as root: the kernel
// writes them through loop mounts) and returns their folder. The script
// locks the folder, so packages testing in parallel build them once.
func BtrfsImages(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "building btrfs images needs root (loop mounts)")
	}
	for _, tool := range []string{"mkfs.btrfs", "btrfs", "losetup", "setfattr", "openssl", "flock", "chattr"} {
		NeedTool(t, tool)
	}
	out := filepath.Join(RepoRoot(), "testdata", "out", "btrfs")
	btrfsOnce.Do(func() {
		cmd := exec.Command("bash", filepath.Join(RepoRoot(), "testdata", "btrfs", "gen.sh"), out)
		if b, err := cmd.CombinedOutput(); err != nil {
			btrfsErr = errors.New(err.Error() + "\n" + string(b))
		}
	})
	if btrfsErr != nil {
		t.Fatalf("testdata/btrfs/gen.sh: %v", btrfsErr)
	}
	return out
}

// BtrfsMultiImages builds testdata/btrfs/multidev.sh's filesystems over
// several devices, with the kernel's read-only view of each (whole and
// degraded), into testdata/out/btrfsmulti once (again when the script
// changes) and returns the folder. It needs root (loop devices, mounts).
func BtrfsMultiImages(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "building multi-device btrfs images needs root (loop devices and mounts)")
	}
	for _, tool := range []string{"mkfs.btrfs", "btrfs", "losetup", "mount", "openssl", "sha256sum"} {
		NeedTool(t, tool)
	}
	return scriptFixture(t, "btrfsmulti", []string{filepath.Join(RepoRoot(), "testdata", "btrfs", "multidev.sh")}, nil)
}

// scriptFixture runs `bash scripts[0] OUT` into testdata/out/<area>
// under LockFixtures unless a marker named by the scripts' hash (the
// first and those it runs) says it ran, and returns OUT. env, when not
// nil, prepares the run (it is called only when the script runs) and
// gives variables for it.
func scriptFixture(t testing.TB, area string, scripts []string, env func() []string) string {
	t.Helper()
	h := sha256.New()
	for _, f := range scripts {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(body)
	}
	sum := h.Sum(nil)
	script := scripts[0]
	out := OutDir(area)
	done := filepath.Join(out, "built-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(done); err == nil {
		return out
	}
	defer LockFixtures(t)()
	if _, err := os.Stat(done); err == nil {
		return out
	}
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script, out)
	cmd.Env = os.Environ()
	if env != nil {
		cmd.Env = append(cmd.Env, env()...)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(script), err, b)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// BtrfsMultiVM builds testdata/btrfs/multivm.sh's VM once (in
// testdata/out/btrfsmultivm, again when the script changes) and returns
// its folder: a Fedora-like guest whose btrfs root was grown onto a
// second disk, at three states (installed, updated, Now) as two VHDX
// chains with the VM's configuration (vm/), and the kernel's view of each
// state, whole and with the second disk left out (stateN.list,
// stateN-without-b.list). It needs root (loop devices and mounts).
func BtrfsMultiVM(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "building the multi-device btrfs VM needs root (loop devices and mounts)")
	}
	for _, tool := range []string{"mkfs.btrfs", "btrfs", "losetup", "mount", "sgdisk", "openssl", "iconv", "go"} {
		NeedTool(t, tool)
	}
	return scriptFixture(t, "btrfsmultivm", []string{filepath.Join(RepoRoot(), "testdata", "btrfs", "multivm.sh")}, func() []string {
		mk := filepath.Join(t.TempDir(), "mkchain")
		Run(t, "go", "build", "-o", mk, filepath.Join(RepoRoot(), "tools", "mkchain"))
		return []string{"MKCHAIN=" + mk}
	})
}

// BtrfsMultiSuse builds testdata/btrfs/multisuse.sh's openSUSE-like
// filesystem over two devices (RAID1, its default subvolume a snapshot)
// with the kernel's view of its default subvolume and of its top level,
// once (again when the script changes), and returns the folder. It needs
// root (loop devices and mounts).
func BtrfsMultiSuse(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "building the multi-device btrfs images needs root (loop devices and mounts)")
	}
	for _, tool := range []string{"mkfs.btrfs", "btrfs", "losetup", "mount", "openssl", "sha256sum"} {
		NeedTool(t, tool)
	}
	return scriptFixture(t, "btrfsmultisuse", []string{filepath.Join(RepoRoot(), "testdata", "btrfs", "multisuse.sh")}, nil)
}
