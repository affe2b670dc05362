// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// InCI reports whether the tests run under CI, where a missing tool or
// device is a failure rather than a reason to skip.
func InCI() bool { return os.Getenv("CI") != "" }

// Unavailable skips the test outside CI and fails it inside CI, saying why.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI: %s", why)
	}
	t.Skipf("skipped outside CI: %s", why)
}

// NeedTool returns the path of an external program, or skips/fails the test.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, name+" is not installed (see .ci/run for the package)")
	}
	return p
}

// NeedFUSE skips/fails unless /dev/fuse and fusermount3 are usable.
func NeedFUSE(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		Unavailable(t, "/dev/fuse is missing")
	}
	NeedTool(t, "fusermount3")
}

// RepoRoot returns the repository's top folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Samples returns ../shared/samples (the real images made by Hyper-V,
// Windows and qemu), or skips/fails when it is not there.
func Samples(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("CKPTFS_SAMPLES")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "..", "shared", "samples")
	}
	if _, err := os.Stat(filepath.Join(dir, "SOURCES.md")); err != nil {
		Unavailable(t, "sample images not found at "+dir+" (set CKPTFS_SAMPLES)")
	}
	return dir
}

// Run runs a command and fails the test with its output on error.
func Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}
