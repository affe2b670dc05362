//go:build linux

package fs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestMountBtrfsOverTwoDisks mounts testdata/btrfs/multivm.sh's VM, whose
// btrfs root was grown onto its second disk: in each checkpoint the
// filesystem shows once, in the first disk's partition, every file with
// the bytes the kernel's mount of both devices read; checkpoint.json says
// the second disk's volume is its device 2.
func TestMountBtrfsOverTwoDisks(t *testing.T) {
	testutil.NeedFUSE(t)
	dir := testutil.BtrfsMultiVM(t)
	cat, err := catalog.Open(filepath.Join(dir, "vm"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Closed after the unmount (cleanups run last in, first out): a
	// deferred Close ran while the kernel could still be reading ahead.
	t.Cleanup(func() { cat.Close() })
	mnt := mountTree(t, NewWithOptions(cat, nil))
	total := 0
	for state, ck := range []string{"installed", "updated", "Now"} {
		b, err := os.ReadFile(filepath.Join(dir, "state"+string(rune('0'+state))+".list"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			c := strings.Split(line, "\t")
			if len(c) != 12 || c[1] != "f" {
				continue
			}
			if got := fileSum(t, filepath.Join(mnt, "checkpoints", ck, "Disk0-p1", c[0])); got != c[11] {
				t.Errorf("%s: Disk0-p1/%s: sha256 %s, kernel %s", ck, c[0], got, c[11])
			}
			n++
		}
		total += n
		data, err := os.ReadFile(filepath.Join(mnt, "checkpoints", ck, jsonName))
		if err != nil {
			t.Fatal(err)
		}
		var js checkpointJSON
		if err := json.Unmarshal(data, &js); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, v := range js.Volumes {
			switch v.Name {
			case "Disk0-p1":
				seen[v.Name] = v.FSType == "btrfs" && v.Error == "" && v.Warning == "" && v.Label == "fedora" && v.Mountpoint == "/"
			case "Disk1-vol":
				seen[v.Name] = v.Dir == "" && strings.Contains(v.Purpose, "device 2 of btrfs filesystem \"fedora\"") && strings.Contains(v.Purpose, "read in volume Disk0-p1")
			}
		}
		if !seen["Disk0-p1"] || !seen["Disk1-vol"] {
			t.Errorf("%s: checkpoint.json:\n%s", ck, data)
		}
	}
	t.Logf("%d files equal to the kernel's over three checkpoints", total)
}
