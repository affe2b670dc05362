//go:build linux

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestLVMOverTwoDisks: testdata/guest/lvmspan.sh's VM, grown onto a
// second disk (its root LV has extents on both VHDX), lists and reads its
// root volume: ls shows it mounted at /, cat reads a file that lies on
// both disks and the volume's raw bytes, each equal to what the script
// put in (sha256sum), check walks it clean. Given one disk alone, root is
// named as missing the other disk's physical volume.
func TestLVMOverTwoDisks(t *testing.T) {
	dir := testutil.LVMSpanDisks(t, false)
	vm := filepath.Join(dir, "vm")
	sums := map[string]string{}
	for _, f := range []string{"root.files", "data.files"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			sum, name, _ := strings.Cut(line, "  ")
			sums[strings.TrimSuffix(f, ".files")+"/"+name] = sum
		}
	}
	imgSum, err := os.ReadFile(filepath.Join(dir, "root.img.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	sha := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return hex.EncodeToString(h[:])
	}

	out, errs, code := ckptfs(t, "ls", vm, "Now")
	for _, re := range []string{`(?m)^/\s+Disk0-p1-grown-root\s+ext4\s+64 MiB\s+"root"$`, `(?m)^/srv/data\s+Disk1-vol-grown-data\s+ext4\s`,
		`(?m)^-\s+Disk0-p1-grown-swap\s+swap\s`} {
		if code != exitOK || !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("ls Now: no %s: exit %d\n%s%s", re, code, out, errs)
		}
	}
	if strings.Count(out, "grown-root ") != 1 {
		t.Errorf("ls lists root more than once:\n%s", out)
	}
	for path, key := range map[string]string{
		"/srv/big/two.bin":                          "root/srv/big/two.bin",
		"Disk0-p1-grown-root/srv/big/one.bin":       "root/srv/big/one.bin",
		"/etc/hostname":                             "root/etc/hostname",
		"/srv/data/payload.bin":                     "data/payload.bin",
		"Disk0-p1-grown-root/home/admin/note40.txt": "root/home/admin/note40.txt",
	} {
		out, errs, code := ckptfs(t, "cat", vm, "Now", path)
		if code != exitOK || sha(out) != sums[key] {
			t.Errorf("cat %s: exit %d, %d bytes, sha256 %s, want %s %s", path, code, len(out), sha(out), sums[key], errs)
		}
	}
	if out, errs, code := ckptfs(t, "cat", vm, "Now", "volumes/Disk0-p1-grown-root.raw"); code != exitOK || sha(out) != strings.TrimSpace(string(imgSum)) {
		t.Errorf("cat volumes/Disk0-p1-grown-root.raw: exit %d, %d bytes %s", code, len(out), errs)
	}
	if out, errs, code := ckptfs(t, "check", vm); code != exitOK || !strings.Contains(out, "5 guest volumes") || !strings.Contains(out, "clean") {
		t.Errorf("check: exit %d\n%s%s", code, out, errs)
	}

	// The first disk alone: root and data wait for pv1, named.
	out, errs, code = ckptfs(t, "ls", filepath.Join(vm, "grown-a.vhdx"), "Now")
	if !regexp.MustCompile(`(?m)^-\s+Disk0-p1-grown-root\s.*not readable: .*physical volume pv1 \(UUID GrowPB-0000-1111-2222-3333-4444-555566\), on none of the disks given`).MatchString(out) {
		t.Errorf("ls of disk a alone: exit %d\n%s%s", code, out, errs)
	}
}

// TestServeLVMOverTwoDisks: serve exports the root LV of
// testdata/guest/lvmspan.sh's VM (over its two VHDX) as one volume,
// after its first disk; nbdcopy reads it, its sha256 is the image's the
// script split onto the extents, and blkid -p says of it what it said of
// that image.
func TestServeLVMOverTwoDisks(t *testing.T) {
	for _, tool := range []string{"nbdcopy", "blkid"} {
		testutil.NeedTool(t, tool)
	}
	dir := testutil.LVMSpanDisks(t, false)
	_, sock, listing := startServe(t, filepath.Join(dir, "vm"))
	var names []string
	for _, e := range listing.Exports {
		names = append(names, e.Name)
	}
	if got, want := strings.Join(names, " "), "Now/Disk0 Now/volumes/Disk0-p1 Now/volumes/Disk0-p1-grown-root Now/volumes/Disk0-p1-grown-swap "+
		"Now/Disk1 Now/volumes/Disk1-vol Now/volumes/Disk1-vol-grown-data"; got != want {
		t.Errorf("exports: %s\nwant %s", got, want)
	}
	out := filepath.Join(t.TempDir(), "root.raw")
	testutil.Run(t, "nbdcopy", "nbd+unix:///"+escapeExport("Now/volumes/Disk0-p1-grown-root")+"?socket="+sock, out)
	want, _ := os.ReadFile(filepath.Join(dir, "root.img.sha256"))
	if got := hashFile(t, out); got != strings.TrimSpace(string(want)) {
		t.Errorf("the root export: sha256 %s, want %s", got, want)
	}
	b, err := exec.Command("blkid", "-p", "-o", "export", out).Output()
	if err != nil {
		t.Fatalf("blkid: %v", err)
	}
	wantBlkid, _ := os.ReadFile(filepath.Join(dir, "blkid-root.txt"))
	if got := strings.Join(strings.Split(strings.TrimSpace(string(b)), "\n")[1:], "\n"); got != strings.TrimSpace(string(wantBlkid)) {
		t.Errorf("blkid -p of the root export:\n%s\nwant\n%s", got, wantBlkid)
	}
}

// TestCatUnreadableVolumeImage: cat of volumes/<vol>.raw for a volume
// listed but unreadable (root, given one disk of its two) says why, with
// its class's exit code; it said "file does not exist" (exit 6), as of a
// name never listed, which still gets that.
func TestCatUnreadableVolumeImage(t *testing.T) {
	dir := testutil.LVMSpanDisks(t, false)
	a := filepath.Join(dir, "vm", "grown-a.vhdx")
	_, errs, code := ckptfs(t, "cat", a, "Now", "volumes/Disk0-p1-grown-root.raw")
	if code != exitUnsupported || !strings.Contains(errs, "cannot be read") || !strings.Contains(errs, "GrowPB-") {
		t.Errorf("exit %d, %q; want %d naming the missing physical volume", code, errs, exitUnsupported)
	}
	if _, errs, code := ckptfs(t, "cat", a, "Now", "volumes/Disk0-p1-grown-nothing.raw"); code != exitNotFound {
		t.Errorf("a name never listed: exit %d, %q", code, errs)
	}
}
