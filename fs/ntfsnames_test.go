//go:build linux

package fs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// mountNTFSWith mounts img as a guest volume with the given options and
// returns the volume directory.
func mountNTFSWith(t *testing.T, img string, o Options) string {
	t.Helper()
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	tc := newTestCatalog()
	for d := range tc.images {
		m := newMemImage(vhdx.Extent{Off: 0, Len: int64(len(raw)), Kind: vhdx.ExtentData})
		copy(m.data, raw)
		tc.images[d] = m
	}
	r := newRoot(tc.cat, tc.image, guest.Volumes)
	r.SetOptions(o)
	return filepath.Join(mountTree(t, r), "checkpoints", "Now", "Disk0-vol")
}

// TestMountNames checks, on the volume of testdata/ntfs/names.sh, that
// short names and metadata files open by name, that -o ignore_case finds
// miscased names (exact ones first) and -o show_metafiles lists $MFT.
func TestMountNTFSNames(t *testing.T) {
	for _, tool := range []string{"mkntfs", "ntfs-3g", "setfattr", "icat"} {
		testutil.NeedTool(t, tool)
	}
	testutil.NeedFUSE(t)
	img := filepath.Join(t.TempDir(), "names.img")
	script := filepath.Join(testutil.RepoRoot(), "testdata", "ntfs", "names.sh")
	if out, err := exec.Command("bash", script, img).CombinedOutput(); err != nil {
		t.Fatalf("names.sh: %v\n%s", err, out)
	}

	plain := mountNTFSWith(t, img, Options{})
	if got, err := os.ReadFile(filepath.Join(plain, "LONGFI~1.TXT")); err != nil || string(got) != "long name\n" {
		t.Errorf("short name: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(plain, "users/ALICE/notes.txt")); err == nil {
		t.Error("miscased path found without ignore_case")
	}
	mft, err := os.ReadFile(filepath.Join(plain, "$MFT"))
	want, err2 := exec.Command("icat", img, "0").Output()
	if err != nil || err2 != nil || !bytes.Equal(mft, want) {
		t.Errorf("$MFT: %d bytes (%v), icat %d (%v)", len(mft), err, len(want), err2)
	}
	if names := listNTFSNames(t, plain); strings.Contains(names, "$") || strings.Contains(names, "~") {
		t.Errorf("root lists %s", names)
	}

	// Every directory lists "." and "..", as ls -a shows on any other
	// filesystem: guest directories and the static ones above them.
	for _, d := range []string{plain, filepath.Join(plain, "Users"), filepath.Dir(plain), filepath.Dir(filepath.Dir(plain))} {
		out, err := exec.Command("ls", "-a", d).Output()
		if lines := strings.Split(string(out), "\n"); err != nil || len(lines) < 3 || lines[0] != "." || lines[1] != ".." {
			t.Errorf("ls -a %s: %q, %v", d, out, err)
		}
	}
	var st, up syscall.Stat_t
	if syscall.Stat(filepath.Join(plain, "Users", ".."), &up) != nil || syscall.Stat(plain, &st) != nil || st.Ino != up.Ino {
		t.Errorf("Users/.. is not the volume root")
	}

	ic := mountNTFSWith(t, img, Options{IgnoreCase: true, ShowMetafiles: true})
	for p, want := range map[string]string{
		"users/ALICE/notes.txt": "notes\n", "case/abc": "lower\n", "case/ABC": "upper\n",
		"ÉCOLE.TXT": "école\n", "longfi~1.txt": "long name\n",
	} {
		if got, err := os.ReadFile(filepath.Join(ic, p)); err != nil || string(got) != want {
			t.Errorf("ignore_case %s: %q, %v", p, got, err)
		}
	}
	if names := listNTFSNames(t, ic); !strings.Contains(names, "$MFT") || !strings.Contains(names, "$Extend") {
		t.Errorf("show_metafiles: root lists %s", names)
	}
}

func listNTFSNames(t *testing.T, dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}
