//go:build linux

package main

import (
	"encoding/binary"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ckptfs/ckptfs/exfat"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// exfatVHDX makes a VHDX with tools/mkchain from a GPT disk whose one
// partition holds the c4k exFAT image.
func exfatVHDX(t *testing.T) (vhdx, img string) {
	t.Helper()
	img = testutil.ExFATImage(t, "c4k")
	return vhdxOf(t, testutil.DiskWith(t, img, "gpt")), img
}

// vhdxOf turns a raw disk into Disk0.vhdx with tools/mkchain.
func vhdxOf(t *testing.T, raw string) string {
	t.Helper()
	dir := t.TempDir()
	mk := filepath.Join(dir, "mkchain")
	testutil.Run(t, "go", "build", "-o", mk, filepath.Join(testutil.RepoRoot(), "tools", "mkchain"))
	testutil.Run(t, mk, "-o", dir, "-name", "Disk0", raw)
	return filepath.Join(dir, "Disk0.vhdx")
}

// TestExFATThroughBinary lists and cats an exFAT partition with the
// ckptfs binary and mounts it, comparing every file of the mount with
// exfat-fuse's mount of the same image.
func TestExFATThroughBinary(t *testing.T) {
	disk, img := exfatVHDX(t)
	bin := ckptfsBinary(t)
	out, err := exec.Command(bin, "ls", disk, "Now").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "exfat") || !strings.Contains(string(out), `"CKPT-c4k"`) {
		t.Fatalf("ls: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "ls", disk, "Now", "Disk0-p1/names").CombinedOutput()
	for _, name := range []string{"日本語のファイル名.txt", "😀 smile 🎉.txt", "café déjà vu – Ærø.txt", strings.Repeat("x", 255)} {
		if err != nil || !strings.Contains(string(out), name) {
			t.Errorf("ls names lacks %q: %v\n%s", name, err, out)
		}
	}
	if out, errs, code := ckptfs(t, "check", disk); code != exitOK || !strings.Contains(out, "clean") {
		t.Errorf("check of the intact volume: exit %d\n%s%s", code, out, errs)
	}
	v, err := exfat.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for _, p := range []string{"sizes/s1000000", "frag/filler", "frag/left", "names/😀 smile 🎉.txt", "empty"} {
		want, _ := fs.ReadFile(v, p)
		got, err := exec.Command(bin, "cat", disk, "Now", "Disk0-p1/"+p).Output()
		if err != nil || string(got) != string(want) {
			t.Errorf("cat %s: %d bytes (want %d), %v", p, len(got), len(want), err)
		}
	}

	testutil.NeedFUSE(t)
	m := startMount(t, nil, disk)
	vol := filepath.Join(m.Dir, "checkpoints", "Disk0", "Disk0-p1")
	ref := testutil.ExFATFuseMount(t, img, "UTC")
	files, bytes := 0, int64(0)
	err = filepath.WalkDir(ref, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == ref {
			return err
		}
		rel, _ := filepath.Rel(ref, p)
		wfi, _ := d.Info()
		gfi, err := os.Stat(filepath.Join(vol, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if gfi.IsDir() != wfi.IsDir() || (!wfi.IsDir() && gfi.Size() != wfi.Size()) || !sameMtime(gfi.ModTime(), wfi.ModTime()) {
			t.Errorf("%s: mount %v %d %v, exfat-fuse %v %d %v", rel, gfi.IsDir(), gfi.Size(), gfi.ModTime(), wfi.IsDir(), wfi.Size(), wfi.ModTime())
		}
		if !wfi.IsDir() {
			got, err1 := os.ReadFile(filepath.Join(vol, rel))
			want, err2 := os.ReadFile(p)
			if err1 != nil || err2 != nil || string(got) != string(want) {
				t.Errorf("%s: content differs (%v %v)", rel, err1, err2)
			}
			files++
			bytes += wfi.Size()
		}
		return nil
	})
	if err != nil || files < 1000 {
		t.Errorf("walked %d files: %v", files, err)
	}
	t.Logf("mount vs exfat-fuse: %d files, %d bytes", files, bytes)
	if _, err := os.Stat(filepath.Join(vol, "NAMES", "mixedcase.txt")); err == nil {
		t.Error("a name differing in case was found without ignore_case")
	}
	m.Stop()

	// -o ignore_case: names match as Windows matches them, through the
	// volume's up-case table.
	m = startMount(t, nil, "-o", "ignore_case", disk)
	vol = filepath.Join(m.Dir, "checkpoints", "Disk0", "Disk0-p1")
	for _, p := range []string{"NAMES/mixedcase.txt", "names/CAFÉ DÉJÀ VU – ÆRØ.TXT", "Names/ÜNÏCÖDÉ-DIR/INSIDE"} {
		if b, err := os.ReadFile(filepath.Join(vol, p)); err != nil || len(b) == 0 {
			t.Errorf("ignore_case %s: %q %v", p, b, err)
		}
	}
}

// sameMtime allows for exfat-fuse's day too many from March 2100 on (it
// takes 2100 for a leap year; see testdata/exfat/README.md).
func sameMtime(ours, fuse time.Time) bool {
	if fuse.After(time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC)) {
		fuse = fuse.AddDate(0, 0, -1)
	}
	return ours.Equal(fuse)
}

// TestExFATCheckReportsDamage damages a copy of an exFAT image (its main
// boot region, one entry set's checksum) on an MBR disk: the volume still
// opens, and check lists both as problems.
func TestExFATCheckReportsDamage(t *testing.T) {
	src := testutil.ExFATImage(t, "c4k")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	v, err := exfat.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := v.Stat("hello.txt")
	v.Close()
	if err != nil {
		t.Fatal(err)
	}
	off := fi.Sys().(*exfat.FileInfo).FileID() * 32 // the File entry
	b[off+8]++                                      // its create time
	b[100]++                                        // the main boot sector's serial
	img := filepath.Join(t.TempDir(), "damaged.img")
	if err := os.WriteFile(img, b, 0o644); err != nil {
		t.Fatal(err)
	}
	disk := vhdxOf(t, testutil.DiskWith(t, img, "mbr"))
	out, errs, code := ckptfs(t, "check", disk)
	if code != exitProblems || !strings.Contains(out, "backup boot region") || !strings.Contains(out, "entry set checksum") {
		t.Errorf("check: exit %d\n%s%s", code, out, errs)
	}
	if out, _, code := ckptfs(t, "cat", disk, "Now", "Disk0-p1/sizes/s511"); code != exitOK || len(out) != 511 {
		t.Errorf("cat from the damaged volume: exit %d, %d bytes", code, len(out))
	}
}

// TestExFATDiff diffs two states of a disk holding exFAT: the c4k image,
// and a copy changed through exfat-fuse (a file added, one appended to,
// one removed), made into a base disk and a checkpoint by mkchain.
func TestExFATDiff(t *testing.T) {
	img := testutil.ExFATImage(t, "c4k")
	testutil.NeedFUSE(t)
	dir := t.TempDir()
	changed := filepath.Join(dir, "changed.img")
	testutil.Run(t, "cp", "--sparse=always", img, changed)
	dev := strings.TrimSpace(string(testutil.Run(t, "losetup", "-f", "--show", changed)))
	mnt := filepath.Join(dir, "m")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	func() {
		defer exec.Command("losetup", "-d", dev).Run()
		testutil.Run(t, "mount.exfat-fuse", dev, mnt)
		defer testutil.Run(t, "fusermount", "-u", mnt)
		for _, err := range []error{
			os.WriteFile(filepath.Join(mnt, "newfile"), []byte("new\n"), 0o644),
			appendFile(filepath.Join(mnt, "frag", "left"), "changed\n"),
			os.Remove(filepath.Join(mnt, "sizes", "s4097")),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}()
	base, next := testutil.DiskWith(t, img, "gpt"), testutil.DiskWith(t, changed, "gpt")
	mk := filepath.Join(dir, "mkchain")
	testutil.Run(t, "go", "build", "-o", mk, filepath.Join(testutil.RepoRoot(), "tools", "mkchain"))
	files := strings.Fields(string(testutil.Run(t, mk, "-o", dir, "-name", "Disk0", base, next)))
	if len(files) != 2 {
		t.Fatalf("mkchain made %q", files)
	}
	out, errOut, code := ckptfs(t, "diff", files[1], "Disk0", "Now", "--files")
	if code != 0 && code != 1 {
		t.Fatalf("diff: code %d: %s", code, errOut)
	}
	for _, want := range []string{"+ Disk0-p1/newfile", "M Disk0-p1/frag/left (content, size", "- Disk0-p1/sizes/s4097"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	t.Logf("diff:\n%s", out)
	if n := strings.Count(out, "\n"); n > 12 {
		t.Errorf("diff lists %d lines for 3 changes:\n%s", n, out)
	}
}

// setChecksum is the SetChecksum of an exFAT entry set (all its bytes but
// the checksum's own two).
func setChecksum(set []byte) uint16 {
	var sum uint16
	for i, c := range set {
		if i != 2 && i != 3 {
			sum = (sum>>1 | sum<<15) + uint16(c)
		}
	}
	return sum
}

// TestExFATCraftedThroughMount mounts an exFAT image whose entry sets were
// changed in a copy as exfat-fuse cannot: hello.txt read-only and hidden,
// sizes/s1000000 with only its first 100 bytes written (ValidDataLength).
// The mount shows the mode, the attributes and creation time as xattrs,
// the unwritten bytes as zeros and as a hole.
func TestExFATCraftedThroughMount(t *testing.T) {
	src := testutil.ExFATImage(t, "c4k")
	testutil.NeedFUSE(t)
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	v, err := exfat.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	set := func(p string) []byte {
		fi, err := v.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		off := fi.Sys().(*exfat.FileInfo).FileID() * 32
		return b[off : off+uint64(1+b[off+1])*32]
	}
	hello, big := set("hello.txt"), set("sizes/s1000000")
	crtime := func() time.Time { fi, _ := v.Stat("hello.txt"); return fi.Sys().(*exfat.FileInfo).CreationTime() }()
	v.Close()
	hello[4] |= exfat.AttrReadOnly | exfat.AttrHidden
	binary.LittleEndian.PutUint16(hello[2:], setChecksum(hello))
	binary.LittleEndian.PutUint64(big[32+8:], 100) // ValidDataLength
	binary.LittleEndian.PutUint16(big[2:], setChecksum(big))
	img := filepath.Join(t.TempDir(), "crafted.img")
	if err := os.WriteFile(img, b, 0o644); err != nil {
		t.Fatal(err)
	}
	m := startMount(t, nil, vhdxOf(t, testutil.DiskWith(t, img, "gpt")))
	vol := filepath.Join(m.Dir, "checkpoints", "Disk0", "Disk0-p1")

	st, err := os.Stat(filepath.Join(vol, "hello.txt"))
	if err != nil || st.Mode().Perm() != 0o444 {
		t.Errorf("hello.txt: %v %v", st, err)
	}
	buf := make([]byte, 64)
	n, err := unix.Getxattr(filepath.Join(vol, "hello.txt"), "user.ckptfs.attributes", buf)
	if err != nil || string(buf[:n]) != "0x00000023" {
		t.Errorf("attributes %q %v", buf[:n], err)
	}
	n, err = unix.Getxattr(filepath.Join(vol, "hello.txt"), "user.ckptfs.crtime", buf)
	if got, perr := time.Parse(time.RFC3339Nano, string(buf[:n])); err != nil || perr != nil || !got.Equal(crtime) {
		t.Errorf("crtime %q %v, want %v", buf[:n], err, crtime)
	}

	p := filepath.Join(vol, "sizes", "s1000000")
	data, err := os.ReadFile(p)
	if err != nil || len(data) != 1000000 || strings.Trim(string(data[100:]), "\x00") != "" || data[0] != '0' {
		t.Errorf("s1000000: %d bytes, %v", len(data), err)
	}
	fd, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	hole, err := fd.Seek(0, 4 /* SEEK_HOLE */)
	if err != nil || hole < 100 || hole > 4096 {
		t.Errorf("SEEK_HOLE from 0 = %d, %v; want the end of the written bytes' block", hole, err)
	}
	if off, err := fd.Seek(hole, 3 /* SEEK_DATA */); err == nil {
		t.Errorf("SEEK_DATA past the written bytes = %d, want ENXIO", off)
	}
}
