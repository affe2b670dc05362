//go:build linux

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestDynamicDisks: testdata/ldm's VM, three Windows dynamic disks. ls
// lists each dynamic volume once with its filesystem, label and the drive
// letter its LDM database records (Volume6 has none), cat reads
// a file that crosses from one disk to the other in the spanned volume
// and each volume's raw bytes (equal to the filesystem images the script
// scattered), cp copies a folder of the striped volume, check walks all
// of it clean. Given the first disk alone, the volumes with extents on
// the second are named as missing it.
func TestDynamicDisks(t *testing.T) {
	dir := testutil.LDMDisks(t)
	vm := filepath.Join(dir, "vm")
	sha := func(b []byte) string {
		h := sha256.Sum256(b)
		return hex.EncodeToString(h[:])
	}
	sums := func(vol string) map[string]string {
		b, err := os.ReadFile(filepath.Join(dir, vol+".files"))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			sum, name, _ := strings.Cut(line, "  ")
			m[name] = sum
		}
		return m
	}

	out, errs, code := ckptfs(t, "ls", vm, "Now")
	for _, re := range []string{
		`(?m)^-\s+Disk0-p1\s+unknown\s+47 MiB\s+Windows dynamic disk \(LDM\)$`,
		`(?m)^E:\s+Disk0-ldm-Volume1\s+ntfs\s+8\.0 MiB\s+"Volume1"$`,
		`(?m)^F:\s+Disk0-ldm-Volume2\s+ntfs\s+12 MiB\s+"Volume2"$`,
		`(?m)^G:\s+Disk1-ldm-Volume3\s+fat12\s+8\.0 MiB\s+"VOLUME3"$`,
		`(?m)^H:\s+Disk0-ldm-Volume4\s+fat12\s+8\.0 MiB\s+"VOLUME4"$`,
		`(?m)^I:\s+Disk0-ldm-Volume5\s+fat12\s+6\.0 MiB\s+"VOLUME5"$`,
		`(?m)^-\s+Disk2-ldm-Volume6\s+fat12\s+4\.0 MiB\s+"VOLUME6"$`,
		`(?m)^J:\s+Disk0-ldm-Volume7\s+fat12\s+8\.0 MiB\s+"VOLUME7"$`,
	} {
		if code != exitOK || !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("ls Now: no %s: exit %d\n%s%s", re, code, out, errs)
		}
	}
	if n := strings.Count(out, "-ldm-"); n != 7 {
		t.Errorf("ls lists %d dynamic volumes, want 7:\n%s", n, out)
	}
	v2 := sums("Volume2")
	for _, name := range []string{"big.bin", "docs/data.bin", "readme.txt"} {
		out, errs, code := ckptfs(t, "cat", vm, "Now", "Disk0-ldm-Volume2/"+name)
		if code != exitOK || sha([]byte(out)) != v2[name] {
			t.Errorf("cat Disk0-ldm-Volume2/%s: exit %d, %d bytes %s", name, code, len(out), errs)
		}
	}
	for vol, src := range map[string]string{"Disk0-ldm-Volume2": "Volume2", "Disk1-ldm-Volume3": "Volume3", "Disk0-ldm-Volume4": "Volume4", "Disk0-ldm-Volume7": "Volume7"} {
		img, err := os.ReadFile(filepath.Join(dir, src+".img"))
		if err != nil {
			t.Fatal(err)
		}
		out, errs, code := ckptfs(t, "cat", vm, "Now", "volumes/"+vol+".raw")
		if code != exitOK || sha([]byte(out)) != sha(img) {
			t.Errorf("cat volumes/%s.raw: exit %d, %d bytes %s", vol, code, len(out), errs)
		}
	}
	dst := t.TempDir()
	if out, errs, code := ckptfs(t, "cp", vm, "Now", "Disk0-ldm-Volume4/docs", dst); code != exitOK {
		t.Fatalf("cp: exit %d\n%s%s", code, out, errs)
	}
	for name, want := range sums("Volume4") {
		rel, ok := strings.CutPrefix(name, "docs/")
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dst, "docs", rel))
		if err != nil || sha(b) != want {
			t.Errorf("cp %s: %v", name, err)
		}
	}
	if out, errs, code := ckptfs(t, "check", vm); code != exitOK || !strings.Contains(out, "12 guest volumes") || !strings.Contains(out, "clean") {
		t.Errorf("check: exit %d\n%s%s", code, out, errs)
	}

	// The first disk alone: Volume2 and Volume4 wait for Disk2, and
	// Volume3, wholly on Disk2, and Volume6, on Disk3, are listed beside
	// its LDM partition, each naming the disk it lacks.
	out, errs, _ = ckptfs(t, "ls", filepath.Join(vm, "disk1.vhdx"), "Now")
	for vol, disk := range map[string]string{"Volume2": "Disk2", "Volume3": "Disk2", "Volume4": "Disk2", "Volume6": "Disk3",
		"Volume7": `Disk2 \(GUID [0-9a-f-]+\), Disk3`} {
		re := `(?m)^(-|[F-J]:)\s+Disk0-ldm-` + vol + `\s.*not readable: .*extents on dynamic disk ` + disk + ` \(GUID [0-9a-f-]+\), on none of the disks given`
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("ls of disk1 alone: no %s\n%s%s", re, out, errs)
		}
	}
	if !regexp.MustCompile(`(?m)^I:\s+Disk0-ldm-Volume5\s+fat12\s`).MatchString(out) {
		t.Errorf("ls of disk1 alone: the mirror is not read from its plex on Disk1\n%s", out)
	}

	// The three disks in a folder without the VM configuration: the
	// catalog finds them to be one disk group's (guest.GroupMembers) and
	// makes them one VM, whose volumes are all read.
	loose, _ := testutil.CopyFiles(t, []string{filepath.Join(vm, "disk1.vhdx"), filepath.Join(vm, "disk2.vhdx"), filepath.Join(vm, "disk3.vhdx")})
	out, errs, code = ckptfs(t, "ls", loose, "Now")
	if code != exitOK || strings.Count(out, "-ldm-") != 7 || strings.Contains(out, "not readable") {
		t.Errorf("ls of the loose disks: exit %d\n%s%s", code, out, errs)
	}
}

// TestServeDynamicDisks: serve exports each volume of testdata/ldm's
// dynamic disks once, after the disk of its first extent; nbdcopy reads
// the spanned, striped and RAID-5 ones as the filesystem images the
// script scattered.
func TestServeDynamicDisks(t *testing.T) {
	testutil.NeedTool(t, "nbdcopy")
	dir := testutil.LDMDisks(t)
	_, sock, listing := startServe(t, filepath.Join(dir, "vm"))
	count := map[string]int{}
	for _, e := range listing.Exports {
		count[e.Name]++
	}
	for vol, src := range map[string]string{"Disk0-ldm-Volume2": "Volume2", "Disk0-ldm-Volume4": "Volume4", "Disk0-ldm-Volume7": "Volume7",
		"Disk1-ldm-Volume3": "Volume3"} {
		name := "Now/volumes/" + vol
		if count[name] != 1 {
			t.Errorf("%s exported %d times", name, count[name])
			continue
		}
		out := filepath.Join(t.TempDir(), vol+".raw")
		testutil.Run(t, "nbdcopy", "nbd+unix:///"+escapeExport(name)+"?socket="+sock, out)
		if got, want := hashFile(t, out), hashFile(t, filepath.Join(dir, src+".img")); got != want {
			t.Errorf("%s: sha256 %s, want %s (%s.img)", name, got, want, src)
		}
	}
	if n := len(listing.Exports); n != 3+12 {
		t.Errorf("%d exports, want 15 (3 disks, 12 volumes)", n)
	}
}
