//go:build linux

package guest

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

func volumesOfFile(t *testing.T, img, disk string) []*Volume {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	o := &Options{Keys: []string{testutil.LinuxDiskKey}}
	vols, err := o.Volumes(f, st.Size(), disk)
	if err != nil {
		t.Fatal(err)
	}
	return vols
}

// TestLinuxMountPoints reads the disks testdata/guest/linux.sh lays out
// as RHEL's, Fedora's and openSUSE's installers do: every volume's identity agrees
// with blkid and sfdisk, the installers' fstab files map each mount
// point to the volume (or btrfs subvolume) the script put there, and
// files read through absolute guest paths hold what the script wrote.
func TestLinuxMountPoints(t *testing.T) {
	rhel, fedora, suse := testutil.LinuxDisks(t)
	for _, c := range []struct {
		img    string
		mounts string
		files  map[string]string
		ids    map[string]Identity
	}{{
		img:    rhel,
		mounts: "/ D-p3-rhel-root .\n/boot D-p2 .\n/boot/efi D-p1 .\n/home D-p3-rhel-home .\n/srv/secret D-p4 .\n",
		files: map[string]string{
			"/var/www/html/index.html":         "<h1>rhel web</h1>\n",
			"/home/alice/docs/notes.txt":       "alice notes\n",
			"/boot/grub2/grub.cfg":             "set default=0\n",
			"/boot/efi/EFI/redhat/shimx64.efi": "shim\n",
			"/etc/hostname":                    "rhel9-web\n",
			"/srv/secret/plans/plan.txt":       "the plan\n",
		},
		ids: map[string]Identity{
			"D-p1":           {UUID: "7A3E-12C4", PartUUID: "5a1b2c3d-0000-4000-8000-000000000001", PartLabel: "EFI System Partition"},
			"D-p2":           {UUID: "3f1d9c2a-5b7e-4e0a-9c6d-1a2b3c4d5e01", PartUUID: "5a1b2c3d-0000-4000-8000-000000000002"},
			"D-p3-rhel-root": {UUID: "3f1d9c2a-5b7e-4e0a-9c6d-1a2b3c4d5e02", VG: "rhel", LV: "root"},
			"D-p3-rhel-home": {UUID: "3f1d9c2a-5b7e-4e0a-9c6d-1a2b3c4d5e03", Label: "home", VG: "rhel", LV: "home"},
			"D-p3-rhel-swap": {UUID: "3f1d9c2a-5b7e-4e0a-9c6d-1a2b3c4d5e04", VG: "rhel", LV: "swap"},
			"D-p4": {UUID: "3f1d9c2a-5b7e-4e0a-9c6d-1a2b3c4d5e05", Label: "secret", PartUUID: "5a1b2c3d-0000-4000-8000-000000000004",
				CryptUUID: "2c0ffee0-1111-4222-8333-444455556666"},
		},
	}, {
		img:    fedora,
		mounts: "/ D-p2 root\n/boot D-p1 .\n/home D-p2 home\n/srv/data D-p4 .\n/var/log D-p2 log\n",
		files: map[string]string{
			"/home/bob/todo.txt":        "bob todo\n",
			"/var/log/journal/boot.log": "boot log\n",
			"/srv/data/reports/q4.txt":  "q4 report\n",
			"/etc/hostname":             "fedora-ws\n",
			"/boot/grub2/grub.cfg":      "set default=0\n",
		},
		ids: map[string]Identity{
			"D-p1": {UUID: "8e2f0b1c-7d6a-4b5c-9e8f-0a1b2c3d4e01", PartUUID: "5eed0f39-01"},
			"D-p2": {UUID: "8e2f0b1c-7d6a-4b5c-9e8f-0a1b2c3d4e02", Label: "fedora", Subvolume: 5, PartUUID: "5eed0f39-02"},
			"D-p3": {UUID: "8e2f0b1c-7d6a-4b5c-9e8f-0a1b2c3d4e03", Label: "fswap", PartUUID: "5eed0f39-03"},
			"D-p4": {UUID: "8e2f0b1c-7d6a-4b5c-9e8f-0a1b2c3d4e04", Label: "data", PartUUID: "5eed0f39-04"},
		},
	}, {
		img: suse,
		// The default subvolume at /, the others below the top level.
		mounts: "/ D-p1 .\n/.snapshots D-p1 @/.snapshots\n/home D-p1 @/home\n/srv D-p1 @/srv\n",
		files: map[string]string{
			"/etc/hostname":         "suse-box\n",
			"/home/carol/notes.txt": "carol notes\n",
			"/srv/www/index.html":   "suse www\n",
		},
		ids: map[string]Identity{
			"D-p1": {UUID: "4d5e6f70-8192-4a3b-8c4d-5e6f70819201", Subvolume: 258, SubvolumePath: "@/.snapshots/1/snapshot",
				PartUUID: "4d5e6f70-8192-4a3b-8c4d-000000000001"},
		},
	}} {
		vols := volumesOfFile(t, c.img, "D")
		n := checkIdentities(t, c.img, vols)
		t.Logf("%s: %d fields agree with blkid/sfdisk", c.img, n)
		for _, v := range vols {
			if want, ok := c.ids[v.Name]; ok {
				if got := v.Identity(); got != want {
					t.Errorf("%s: identity %+v, want %+v", v.Name, got, want)
				}
				delete(c.ids, v.Name)
			}
		}
		if len(c.ids) != 0 {
			t.Errorf("volumes not found: %v", c.ids)
		}
		if c.img == rhel {
			checkLVs(t, filepath.Join(filepath.Dir(rhel), "rhel-lvs.txt"), vols)
			checkInner(t, filepath.Join(filepath.Dir(rhel), "rhel-p4-inner.txt"), vols, "D-p4")
		}
		mps := MountPoints(vols)
		if got := mountList(mps); got != c.mounts {
			t.Errorf("%s: mount points:\n%swant:\n%s", c.img, got, c.mounts)
		}
		for p, want := range c.files {
			mp, rest, err := ResolveMountPath(mps, p)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			b, err := fs.ReadFile(mp.FS, rest)
			if err != nil || string(b) != want {
				t.Errorf("%s (%s %s): %q, %v; want %q", p, mp.Volume.Name, rest, b, err, want)
			}
		}
	}
}

// checkLVs compares the VG and LV names of the logical volumes with what
// lvs listed when the script made them.
func checkLVs(t *testing.T, list string, vols []*Volume) {
	t.Helper()
	b, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		want = append(want, strings.Join(strings.Fields(line), "/"))
	}
	for _, v := range vols {
		if id := v.Identity(); id.VG != "" {
			got = append(got, id.VG+"/"+id.LV)
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") || len(got) != 3 {
		t.Errorf("logical volumes %v, lvs says %v", got, want)
	}
}

// checkInner compares the identity of the filesystem inside an encrypted
// volume with what blkid said of it before cryptsetup encrypted it.
func checkInner(t *testing.T, list string, vols []*Volume, name string) {
	t.Helper()
	b, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			want[k] = v
		}
	}
	for _, v := range vols {
		if v.Name == name {
			if id := v.Identity(); id.UUID != want["UUID"] || id.Label != want["LABEL"] || v.FSType != want["TYPE"] {
				t.Errorf("%s inside: %s %q %q; blkid before encryption: %v", name, v.FSType, id.UUID, id.Label, want)
			}
			return
		}
	}
	t.Errorf("no volume %s", name)
}
