//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// TestXFSCatCpCheck reads XFS volumes through the CLI: cat and cp (with
// owners, times and xattrs) from a clean volume, and check of a volume
// left with a dirty log, which reports the log replayed.
func TestXFSCatCpCheck(t *testing.T) {
	disk := rawDisk(t, testutil.XFSImage(t, "tiny"))
	out, errOut, code := ckptfs(t, "cat", disk, "Now", "Disk0-vol/data")
	want, _ := exec.Command("seq", "1", "3000").Output()
	if code != 0 || out != string(want) {
		t.Fatalf("cat: code %d, %d bytes (want %d): %s", code, len(out), len(want), errOut)
	}
	dest := t.TempDir()
	if _, errOut, code := ckptfs(t, "cp", "--xattrs", disk, "Now", "Disk0-vol/attrs", "Disk0-vol/data", dest); code != 0 {
		t.Fatalf("cp: code %d: %s", code, errOut)
	}
	buf := make([]byte, 64)
	n, err := unix.Getxattr(filepath.Join(dest, "attrs"), "user.attr-7", buf)
	if err != nil || string(buf[:n]) != "value 7" {
		t.Errorf("user.attr-7 of the copy: %q, %v", buf[:n], err)
	}
	st, err := os.Stat(filepath.Join(dest, "data"))
	if err != nil || st.ModTime().UTC().Format("2006-01-02 15:04:05.000000000") != "2001-02-03 04:05:06.123456789" {
		t.Errorf("data's time: %v, %v", st, err)
	}

	dirty := rawDisk(t, testutil.XFSImage(t, "dirty"))
	out, errOut, code = ckptfs(t, "check", "--json", dirty)
	if code != 0 {
		t.Fatalf("check: code %d: %s %s", code, out, errOut)
	}
	var rep struct {
		Volumes []struct {
			FS      string `json:"fs"`
			Journal string `json:"journal"`
		} `json:"volumes"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Volumes) != 1 ||
		rep.Volumes[0].FS != "xfs" || !strings.HasPrefix(rep.Volumes[0].Journal, "replayed (") {
		t.Errorf("check: %v %+v\n%s", err, rep, out)
	}
}

// TestXFSDiff diffs two states of an XFS volume: the tiny image, and a
// copy the kernel changed (a file added, one appended to and made
// private, one removed).
func TestXFSDiff(t *testing.T) {
	a := testutil.XFSImage(t, "tiny")
	dir := t.TempDir()
	b := filepath.Join(dir, "b.img")
	testutil.Run(t, "cp", "--sparse=always", a, b)
	mnt := filepath.Join(dir, "m")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "mount", "-o", "loop,nouuid", b, mnt)
	func() {
		defer testutil.Run(t, "umount", mnt)
		for _, err := range []error{
			os.WriteFile(filepath.Join(mnt, "newfile"), []byte("new\n"), 0o644),
			appendFile(filepath.Join(mnt, "data"), "changed\n"),
			os.Chmod(filepath.Join(mnt, "data"), 0o600),
			os.Remove(filepath.Join(mnt, "sf", "a")),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}()
	base := rawDisk(t, a)
	parent, err := vhdx.OpenDisk(base)
	if err != nil {
		t.Fatal(err)
	}
	child := filepath.Join(filepath.Dir(base), "Disk0_6B0E4B1A-0D3C-4C6E-9A51-2F5E8B7C9D10.avhdx")
	w, err := vhdx.Create(child, vhdx.CreateOptions{Parent: parent, ParentPath: parent.Name, BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt(raw, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	parent.Close()
	out, errOut, code := ckptfs(t, "diff", child, "Disk0", "Now", "--files")
	if code != 0 && code != 1 {
		t.Fatalf("diff: code %d: %s", code, errOut)
	}
	for _, want := range []string{"+ Disk0-vol/newfile", "M Disk0-vol/data (content, size, mtime, mode)", "- Disk0-vol/sf/a"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
}

func appendFile(p, s string) error {
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	return errors.Join(err, f.Close())
}
