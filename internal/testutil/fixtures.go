package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Test fixtures are built on demand by the generator scripts under
// testdata/<area>/ into testdata/out/<area>/ (git-ignored), so that
// `go test ./...` on a fresh clone builds what it needs. go test runs the
// packages' test binaries in parallel and several packages read the same
// images (ntfs and fs both read testdata/out/ntfs/small.img), so every
// build holds one exclusive lock on testdata/out: the second binary waits
// for the first one's build and then finds the image there.

// OutDir returns testdata/out/<area>.
func OutDir(area string) string { return filepath.Join(RepoRoot(), "testdata", "out", area) }

// LockFixtures takes the exclusive lock every fixture build holds (a file
// lock on testdata/out/.lock, which serialises test binaries and
// goroutines alike) and returns its release.
func LockFixtures(t testing.TB) (unlock func()) {
	t.Helper()
	unlock, err := lockFixtures()
	if err != nil {
		t.Fatal(err)
	}
	return unlock
}

func lockFixtures() (func(), error) {
	dir := filepath.Join(RepoRoot(), "testdata", "out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		unlockFile(f)
		f.Close()
	}, nil
}

// Fixture returns testdata/out/<area>/<file>, first running
// `bash testdata/<area>/gen.sh testdata/out/<area> args...` under
// LockFixtures when the file is missing. The caller checks the tools the
// script needs (NeedTool, NeedFUSE) before.
func Fixture(t testing.TB, area, file string, args ...string) string {
	t.Helper()
	p, err := BuildFixture(area, file, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// BuildFixture is Fixture for a caller without a testing.TB (an Example).
//
// A fixture is built again when the files of testdata/<area>/ (its
// generator and what the generator reads there) or its arguments changed
// since it was built: a stamp beside it, .<file>.gen, holds their hash.
// Without it, a tree that once built a fixture kept testing the old one
// after its script changed (a Go tool the script runs is not hashed).
func BuildFixture(area, file string, args ...string) (string, error) {
	out := OutDir(area)
	p := filepath.Join(out, file)
	stamp := filepath.Join(out, "."+strings.ReplaceAll(file, "/", "_")+".gen")
	want, err := generatorHash(area, args)
	if err != nil {
		return "", err
	}
	if built(p, stamp, want) {
		return p, nil
	}
	unlock, err := lockFixtures()
	if err != nil {
		return "", err
	}
	defer unlock()
	if built(p, stamp, want) {
		return p, nil // built by another test binary while this one waited
	}
	if err := os.RemoveAll(p); err != nil {
		return "", err
	}
	script := filepath.Join(RepoRoot(), "testdata", area, "gen.sh")
	cmd := exec.Command("bash", append([]string{script, out}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testdata/%s/gen.sh %v: %v\n%s", area, args, err, b)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("testdata/%s/gen.sh %v did not make %s", area, args, file)
	}
	if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
		return "", err
	}
	return p, nil
}

// built reports whether p exists and was made by the generator whose hash
// is want.
func built(p, stamp, want string) bool {
	if _, err := os.Stat(p); err != nil {
		return false
	}
	b, err := os.ReadFile(stamp)
	return err == nil && string(b) == want
}

// generatorHash hashes the regular files of testdata/<area>/ (names and
// contents, in name order) and the generator's arguments.
func generatorHash(area string, args []string) (string, error) {
	dir := filepath.Join(RepoRoot(), "testdata", area)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%q\n", args)
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// LUKSImages returns testdata/out/luks, holding the LUKS volumes that
// cryptsetup encrypted around plain.img (testdata/luks/gen.sh), built
// when missing. LUKSPassphrase opens key slot 0 of each.
func LUKSImages(t testing.TB) string {
	t.Helper()
	for _, tool := range []string{"cryptsetup", "mke2fs"} {
		NeedTool(t, tool)
	}
	p := Fixture(t, "luks", "luks2-cbc.img") // the newest of gen.sh's volumes
	return filepath.Dir(p)
}

// LUKSPassphrase is the passphrase of key slot 0 of every LUKSImages volume.
const LUKSPassphrase = "correct horse battery staple"

// NTFSImage returns testdata/out/ntfs/<which>.img ("small", "tiny"),
// built by testdata/ntfs/gen.sh (mkntfs, then files written through an
// ntfs-3g mount) when missing.
func NTFSImage(t testing.TB, which string) string {
	t.Helper()
	for _, tool := range []string{"mkntfs", "ntfs-3g", "setfattr", "openssl", "iconv"} {
		NeedTool(t, tool)
	}
	NeedFUSE(t)
	return Fixture(t, "ntfs", which+".img", which)
}

// GuestImages returns testdata/out/guest, building its images (GPT, MBR,
// FAT, ext4, NTFS and ISO 9660 volumes) with testdata/guest/gen.sh when
// they are missing or older than the script.
func GuestImages(t testing.TB) string {
	t.Helper()
	for _, tool := range []string{"sgdisk", "sfdisk", "mkfs.fat", "mcopy", "mkfs.ext4", "debugfs", "mkntfs", "xorriso"} {
		NeedTool(t, tool)
	}
	out := OutDir("guest")
	script := filepath.Join(RepoRoot(), "testdata", "guest", "gen.sh")
	fresh := func() bool {
		done, err := os.Stat(filepath.Join(out, ".done"))
		src, serr := os.Stat(script)
		return err == nil && serr == nil && !src.ModTime().After(done.ModTime())
	}
	if fresh() {
		return out
	}
	defer LockFixtures(t)()
	if fresh() {
		return out
	}
	if b, err := exec.Command("sh", script, out).CombinedOutput(); err != nil {
		t.Fatalf("testdata/guest/gen.sh: %v\n%s", err, b)
	}
	return out
}
