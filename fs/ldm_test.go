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

// TestMountDynamicDisks mounts testdata/ldm's VM, three Windows dynamic
// disks: every dynamic volume (simple, spanned over two disks, two
// extents of one disk, striped, mirrored, RAID-5) is a directory whose files, and
// a volumes/*.raw whose bytes, equal what the script put in (sha256sum,
// the filesystem images), and checkpoint.json lists each once, without
// error, with the LDM partitions as such.
func TestMountDynamicDisks(t *testing.T) {
	testutil.NeedFUSE(t)
	dir := testutil.LDMDisks(t)
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
	vols := map[string]string{"Disk0-ldm-Volume1": "Volume1", "Disk0-ldm-Volume2": "Volume2", "Disk1-ldm-Volume3": "Volume3",
		"Disk0-ldm-Volume4": "Volume4", "Disk0-ldm-Volume5": "Volume5", "Disk2-ldm-Volume6": "Volume6",
		"Disk0-ldm-Volume7": "Volume7"}
	files := 0
	for vol, src := range vols {
		b, err := os.ReadFile(filepath.Join(dir, src+".files"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			want, name, _ := strings.Cut(line, "  ")
			if got := sum(filepath.Join(ck, vol, name)); got != want {
				t.Errorf("%s/%s: sha256 %s, want %s", vol, name, got, want)
			}
			files++
		}
		if got, want := sum(filepath.Join(ck, "volumes", vol+".raw")), sum(filepath.Join(dir, src+".img")); got != want {
			t.Errorf("volumes/%s.raw: sha256 %s, want %s (%s.img)", vol, got, want, src)
		}
	}
	t.Logf("%d files of %d dynamic volumes compared", files, len(vols))
	data, err := os.ReadFile(filepath.Join(ck, jsonName))
	if err != nil {
		t.Fatal(err)
	}
	var js checkpointJSON
	if err := json.Unmarshal(data, &js); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, v := range js.Volumes {
		seen[v.Name]++
		if v.Error != "" {
			t.Errorf("volume %s: %s", v.Name, v.Error)
		}
	}
	for vol := range vols {
		if seen[vol] != 1 {
			t.Errorf("%s listed %d times in checkpoint.json", vol, seen[vol])
		}
	}
}
