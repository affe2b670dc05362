//go:build linux

package fs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestMountLVMOverTwoDisks mounts testdata/guest/lvmspan.sh's VM, whose
// root LV has extents on both its VHDX: the checkpoint shows root once,
// its files and raw bytes equal what the script put in (sha256sum), and
// checkpoint.json gives it the first disk and the mount point /.
func TestMountLVMOverTwoDisks(t *testing.T) {
	testutil.NeedFUSE(t)
	dir := testutil.LVMSpanDisks(t, false)
	cat, err := catalog.Open(filepath.Join(dir, "vm"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Closed after the unmount (cleanups run last in, first out): a
	// deferred Close ran while the kernel could still be reading ahead.
	t.Cleanup(func() { cat.Close() })
	mnt := mountTree(t, NewWithOptions(cat, nil))
	ck := filepath.Join(mnt, "checkpoints", "Now")
	sum := func(p string) string { return fileSum(t, p) }
	for vol, list := range map[string]string{"Disk0-p1-grown-root": "root.files", "Disk1-vol-grown-data": "data.files"} {
		b, err := os.ReadFile(filepath.Join(dir, list))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			want, name, _ := strings.Cut(line, "  ")
			if got := sum(filepath.Join(ck, vol, name)); got != want {
				t.Errorf("%s/%s: sha256 %s, want %s", vol, name, got, want)
			}
			n++
		}
		t.Logf("%s: %d files compared", vol, n)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "root.img.sha256"))
	if got := sum(filepath.Join(ck, "volumes", "Disk0-p1-grown-root.raw")); got != strings.TrimSpace(string(want)) {
		t.Errorf("volumes/Disk0-p1-grown-root.raw: sha256 %s, want %s", got, want)
	}
	data, err := os.ReadFile(filepath.Join(ck, jsonName))
	if err != nil {
		t.Fatal(err)
	}
	var js checkpointJSON
	if err := json.Unmarshal(data, &js); err != nil {
		t.Fatal(err)
	}
	roots := 0
	for _, v := range js.Volumes {
		if strings.HasSuffix(v.Name, "-grown-root") {
			roots++
			if v.Name != "Disk0-p1-grown-root" || v.Disk != "Disk0" || v.Mountpoint != "/" || v.Error != "" || v.FSType != "ext4" ||
				v.Dir != "Disk0-p1-grown-root" || v.Size != 64<<20 {
				t.Errorf("root in checkpoint.json: %+v", v)
			}
		}
		if v.Error != "" {
			t.Errorf("volume %s: %s", v.Name, v.Error)
		}
	}
	if roots != 1 {
		t.Errorf("root listed %d times in checkpoint.json:\n%s", roots, data)
	}
}

// fileSum is the hex sha256 of the file at p ("" and a test error when it
// cannot be read).
func fileSum(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("%v", err)
		return ""
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
