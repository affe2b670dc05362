//go:build linux

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ckptfs/ckptfs/internal/testutil"
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
