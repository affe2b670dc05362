//go:build linux

package mount

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// walkTree builds an ext4 volume of 3 folders of 2 folders of 30 files
// (made by mkfs.ext4 -d, no root needed), wraps it in a VHDX and returns
// its path and the number of folders and files under the volume root.
func walkTree(t *testing.T) (vhdxPath string, dirs, files int) {
	t.Helper()
	testutil.NeedTool(t, "mkfs.ext4")
	testutil.NeedTool(t, "qemu-img")
	src, out := t.TempDir(), t.TempDir()
	for a := range 3 {
		for b := range 2 {
			d := filepath.Join(src, fmt.Sprintf("d%d", a), fmt.Sprintf("s%d", b))
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			dirs++
			for f := range 30 {
				p := filepath.Join(d, fmt.Sprintf("f%02d.txt", f))
				if err := os.WriteFile(p, fmt.Appendf(nil, "%s\n", p), 0o644); err != nil {
					t.Fatal(err)
				}
				files++
			}
		}
		dirs++
	}
	img := filepath.Join(out, "tree.img")
	testutil.Run(t, "mkfs.ext4", "-q", "-F", "-E", "root_owner=0:0", "-d", src, img, "16M")
	vhdxPath = filepath.Join(out, "tree.vhdx")
	testutil.Run(t, "qemu-img", "convert", "-f", "raw", "-O", "vhdx", img, vhdxPath)
	return vhdxPath, dirs, files
}

// list walks dir as find does: listings only (types from the entries),
// no stat; it returns the number of entries.
func list(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := len(ents)
	for _, e := range ents {
		if e.IsDir() {
			n += list(t, filepath.Join(dir, e.Name()))
		}
	}
	return n
}

// readAll reads every file under dir with plain system calls.
func readAll(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			readAll(t, p)
			continue
		}
		fd, err := syscall.Open(p, syscall.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		for {
			n, err := syscall.Read(fd, buf)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		syscall.Close(fd)
	}
}

// TestWalkRequests counts the FUSE requests of walks through a real
// mount: a find-like walk reads each folder's listing without OPENDIR or
// RELEASEDIR and looks nothing up (READDIRPLUS describes the folders); the
// same walk again is answered from the kernel's cache without a request;
// reading every file then costs one LOOKUP a file and no OPEN.
func TestWalkRequests(t *testing.T) {
	path, dirs, files := walkTree(t)
	var counts func() map[string]uint64
	mnt, cancel, errc := startRunWith(t, openCatalog(t, path), Options{Requests: func(f func() map[string]uint64) { counts = f }})
	vol := filepath.Join(mnt, "checkpoints", "Now", "Disk0-vol")
	if _, err := os.Stat(vol); err != nil {
		t.Fatal(err)
	}
	since := func(before map[string]uint64) map[string]uint64 {
		now := counts()
		for k := range now {
			now[k] -= before[k]
			if now[k] == 0 {
				delete(now, k)
			}
		}
		return now
	}
	before := counts()
	want := dirs + files + 1 // lost+found
	if n := list(t, vol); n != want {
		t.Fatalf("walk found %d entries, want %d", n, want)
	}
	cold := since(before)
	listings := cold["READDIR"] + cold["READDIRPLUS"]
	if cold["OPENDIR"] > 1 || cold["RELEASEDIR"] != 0 || cold["LOOKUP"] != 0 ||
		listings < uint64(dirs+2) || listings > uint64(3*(dirs+2)) {
		t.Errorf("first walk of %d folders: requests %v; want at most one OPENDIR (answered ENOSYS), "+
			"no RELEASEDIR, no LOOKUP, 1-3 listing reads a folder", dirs+2, cold)
	}

	before = counts()
	list(t, vol)
	if warm := since(before); len(warm) != 0 {
		t.Errorf("second walk: requests %v, want none (listings and entries cached)", warm)
	}

	before = counts()
	readAll(t, vol)
	got := since(before)
	if got["LOOKUP"] != uint64(files) || got["OPEN"] > 1 || got["READ"] < uint64(files) || got["READ"] > uint64(2*files) ||
		got["READDIR"]+got["READDIRPLUS"]+got["OPENDIR"]+got["GETXATTR"] != 0 {
		t.Errorf("reading %d files after the walks: requests %v; want a LOOKUP and a READ or two a file, "+
			"at most one OPEN (answered ENOSYS), no listing", files, got)
	}
	t.Logf("walk %v, read %v", cold, got)
	cancel()
	if err := <-errc; err != nil {
		t.Error(err)
	}
}

// TestWalkReadingFilesDescribesThem counts the requests of a cold walk
// that reads every file as it lists (grep -r, a hash of every file):
// once the files of the first folder were looked up, the listings that
// follow describe their files, so the rest cost a READ each and no LOOKUP.
func TestWalkReadingFilesDescribesThem(t *testing.T) {
	path, _, files := walkTree(t)
	var counts func() map[string]uint64
	mnt, cancel, errc := startRunWith(t, openCatalog(t, path), Options{Requests: func(f func() map[string]uint64) { counts = f }})
	vol := filepath.Join(mnt, "checkpoints", "Now", "Disk0-vol")
	if _, err := os.Stat(vol); err != nil {
		t.Fatal(err)
	}
	before := counts()
	readAll(t, vol)
	got := counts()
	lookups, reads := got["LOOKUP"]-before["LOOKUP"], got["READ"]-before["READ"]
	const perFolder = 30 // walkTree's files in a folder
	if lookups > perFolder || reads < uint64(files) {
		t.Errorf("reading %d files in a cold walk: %d LOOKUPs and %d READs; want at most %d LOOKUPs "+
			"(the first folder's files) and a READ a file", files, lookups, reads, perFolder)
	}
	t.Logf("%d LOOKUPs, %d READs", lookups, reads)
	cancel()
	if err := <-errc; err != nil {
		t.Error(err)
	}
}
