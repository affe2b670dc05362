package guest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

func TestDetectOS(t *testing.T) {
	gpt, mbr := windowsDisks(t)
	testutil.NeedTool(t, "mkfs.ext4")
	// Linux: os-release a link to ../usr/lib/os-release as on Debian and
	// Ubuntu, and os-release in a root subvolume's folder.
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	for p, body := range map[string]string{
		"usr/lib/os-release": "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\n",
		"etc/hostname":       "db01\n",
	} {
		os.MkdirAll(filepath.Join(tree, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(tree, p), []byte(body), 0o644)
	}
	os.Symlink("../usr/lib/os-release", filepath.Join(tree, "etc", "os-release"))
	sub := filepath.Join(dir, "sub")
	os.MkdirAll(filepath.Join(sub, "root", "etc"), 0o755)
	os.WriteFile(filepath.Join(sub, "root", "etc", "os-release"), []byte("NAME=Fedora Linux\nVERSION=\"40 (Workstation Edition)\"\nVERSION_ID=40\n"), 0o644)
	linux := filepath.Join(dir, "linux.img")
	testutil.Run(t, "mkfs.ext4", "-q", "-F", "-d", tree, linux, "8M")
	fedora := filepath.Join(dir, "fedora.img")
	testutil.Run(t, "mkfs.ext4", "-q", "-F", "-d", sub, fedora, "8M")

	for _, c := range []struct {
		img  string
		want []OSInfo
	}{
		{gpt, []OSInfo{{Family: "windows", Name: "Windows 11 Pro 23H2", Version: "10.0.22631.3007", Hostname: "WEB01"}}},
		{mbr, nil}, // a SYSTEM hive alone: no product to name
		{linux, []OSInfo{{Family: "linux", Name: "Ubuntu 22.04.4 LTS", Version: "22.04", Hostname: "db01"}}},
		{fedora, []OSInfo{{Family: "linux", Name: "Fedora Linux 40 (Workstation Edition)", Version: "40"}}},
	} {
		f, err := os.Open(c.img)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		vols, err := Volumes(f, st.Size(), "Disk0")
		if err != nil {
			t.Fatal(err)
		}
		got := DetectOS(vols)
		if len(got) != len(c.want) {
			t.Errorf("%s: %+v, want %+v", filepath.Base(c.img), got, c.want)
		}
		for i := range min(len(got), len(c.want)) {
			g := got[i]
			g.Volume = nil
			if g != c.want[i] {
				t.Errorf("%s: %+v, want %+v", filepath.Base(c.img), g, c.want[i])
			}
		}
		f.Close()
	}
}
