//go:build linux

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestLinuxPaths: on the disks testdata/guest/linux.sh lays out as RHEL's,
// Fedora's and openSUSE's installers do, ls shows each volume's mount point from
// the guest's /etc/fstab, cat, ls and cp take absolute guest paths
// through the longest mount point (an LVM volume, a btrfs subvolume, a
// partition fstab names /dev/sda4), VOL/path and /VOL/path still name
// volumes, a missing path names the mount points, and the mount's
// checkpoint.json gives each volume its mount point.
func TestLinuxPaths(t *testing.T) {
	testutil.NeedTool(t, "qemu-img")
	rhel, fedora, suse := testutil.LinuxDisks(t)
	dir := t.TempDir()
	rsrc := filepath.Join(dir, "rhel", "rhel.vhdx")
	fsrc := filepath.Join(dir, "fedora", "fedora.vhdx")
	ssrc := filepath.Join(dir, "suse", "suse.vhdx")
	for img, src := range map[string]string{rhel: rsrc, fedora: fsrc, suse: ssrc} {
		os.Mkdir(filepath.Dir(src), 0o755)
		testutil.Run(t, "qemu-img", "convert", "-f", "raw", "-O", "vhdx", img, src)
	}
	for _, c := range []struct{ src, path, want string }{
		{rsrc, "/etc/hostname", "rhel9-web\n"},
		{rsrc, "/var/www/html/index.html", "<h1>rhel web</h1>\n"},
		{rsrc, "/home/alice/docs/notes.txt", "alice notes\n"},
		{rsrc, "//boot/efi/EFI/redhat/shimx64.efi", "shim\n"},
		{rsrc, "Disk0-p3-rhel-root/etc/hostname", "rhel9-web\n"},
		{rsrc, "/Disk0-p3-rhel-home/alice/docs/notes.txt", "alice notes\n"},
		{fsrc, "/etc/hostname", "fedora-ws\n"},
		{fsrc, "/home/bob/todo.txt", "bob todo\n"},
		{fsrc, "/var/log/journal/boot.log", "boot log\n"},
		{fsrc, "/srv/data/reports/q4.txt", "q4 report\n"},
		{fsrc, "Disk0-p2/home/bob/todo.txt", "bob todo\n"},
		{ssrc, "/etc/hostname", "suse-box\n"},
		{ssrc, "/home/carol/notes.txt", "carol notes\n"},
		{ssrc, "/srv/www/index.html", "suse www\n"},
		{ssrc, "Disk0-p1-toplevel/@/home/carol/notes.txt", "carol notes\n"},
	} {
		if out, errs, code := ckptfs(t, "cat", c.src, "Now", c.path); code != exitOK || out != c.want {
			t.Errorf("cat %s: exit %d, %q %s", c.path, code, out, errs)
		}
	}
	_, errs, code := ckptfs(t, "cat", rsrc, "Now", "/var/www/html/missing.html")
	if code != exitNotFound || !strings.Contains(errs, "in Disk0-p3-rhel-root mounted at /") ||
		!strings.Contains(errs, "/ Disk0-p3-rhel-root, /boot Disk0-p2, /boot/efi Disk0-p1, /home Disk0-p3-rhel-home") {
		t.Errorf("a missing path: exit %d, %s", code, errs)
	}
	// The LUKS partition fstab names through crypttab: mounted with its
	// key, and without it the path falls to / (where it is missing).
	if out, errs, code := ckptfs(t, "cat", "--key", testutil.LinuxDiskKey, rsrc, "Now", "/srv/secret/plans/plan.txt"); code != exitOK || out != "the plan\n" {
		t.Errorf("cat of a file in the LUKS volume: exit %d, %q %s", code, out, errs)
	}
	if _, errs, code := ckptfs(t, "cat", rsrc, "Now", "/srv/secret/plans/plan.txt"); code != exitNotFound || !strings.Contains(errs, "mounted at /") {
		t.Errorf("cat of a file in the locked LUKS volume: exit %d, %s", code, errs)
	}
	if _, errs, code := ckptfs(t, "cat", rsrc, "Now", "/etc/../etc/hostname"); code != exitUsage {
		t.Errorf("a path with ..: exit %d, %s", code, errs)
	}

	out, errs, code := ckptfs(t, "ls", rsrc, "Now")
	for _, re := range []string{`(?m)^/boot/efi\s+Disk0-p1\s+fat16\s`, `(?m)^/boot\s+Disk0-p2\s+ext4\s`, `(?m)^/\s+Disk0-p3-rhel-root\s+xfs\s`,
		`(?m)^/home\s+Disk0-p3-rhel-home\s+xfs\s.*"home"$`, `(?m)^-\s+Disk0-p3-rhel-swap\s+swap\s`} {
		if code != exitOK || !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("ls Now: no %s: exit %d\n%s%s", re, code, out, errs)
		}
	}
	out, errs, code = ckptfs(t, "ls", "--key", testutil.LinuxDiskKey, rsrc, "Now")
	if code != exitOK || !regexp.MustCompile(`(?m)^/srv/secret\s+Disk0-p4\s+ext4\s.*"secret"  luks2$`).MatchString(out) {
		t.Errorf("ls Now with the LUKS key: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = ckptfs(t, "ls", fsrc, "Now")
	if code != exitOK || !regexp.MustCompile(`(?m)^/\s+Disk0-p2\s+btrfs\s.*mounted at / \(root\), /home \(home\), /var/log \(log\)$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^/srv/data\s+Disk0-p4\s+ext4\s`).MatchString(out) {
		t.Errorf("ls Now (Fedora): exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = ckptfs(t, "ls", ssrc, "Now")
	if code != exitOK || !regexp.MustCompile(`(?m)^/\s+Disk0-p1\s+btrfs\s.*mounted at /, /\.snapshots \(@/\.snapshots\), /home \(@/home\), /srv \(@/srv\)$`).MatchString(out) {
		t.Errorf("ls Now (openSUSE): exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = ckptfs(t, "ls", fsrc, "Now", "/home")
	if code != exitOK || !regexp.MustCompile(`(?m)^d\d{4} +0 .*  bob$`).MatchString(out) {
		t.Errorf("ls /home: exit %d\n%s%s", code, out, errs)
	}
	dest := t.TempDir()
	if _, errs, code := ckptfs(t, "cp", rsrc, "Now", "/home/alice", dest); code != exitOK {
		t.Errorf("cp /home/alice: exit %d, %s", code, errs)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "alice", "docs", "notes.txt")); err != nil || string(b) != "alice notes\n" {
		t.Errorf("copied notes.txt: %q %v", b, err)
	}

	for vm, want := range map[string]map[string]string{
		"rhel": {"Disk0-p1": "/boot/efi", "Disk0-p2": "/boot", "Disk0-p3": "", "Disk0-p3-rhel-root": "/",
			"Disk0-p3-rhel-home": "/home", "Disk0-p3-rhel-swap": "", "Disk0-p4": ""},
		"fedora": {"Disk0-p1": "/boot", "Disk0-p2": "/ /:root /home:home /var/log:log", "Disk0-p3": "", "Disk0-p4": "/srv/data"},
	} {
		m := startMount(t, nil, filepath.Join(dir, vm))
		js, err := os.ReadFile(filepath.Join(m.Dir, "checkpoints", "Now", "checkpoint.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cj struct {
			Volumes []struct {
				Name, Mountpoint string
				Mounts           []struct{ Path, Subvol string }
			}
		}
		if err := json.Unmarshal(js, &cj); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, v := range cj.Volumes {
			s := v.Mountpoint
			for _, mt := range v.Mounts {
				s += " " + mt.Path + ":" + mt.Subvol
			}
			got[v.Name] = s
		}
		for name, w := range want {
			if got[name] != w {
				t.Errorf("%s checkpoint.json %s: %q, want %q", vm, name, got[name], w)
			}
		}
	}
}
