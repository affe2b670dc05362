package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestCheckCountsDeduplicated walks an NTFS volume holding two files of a
// Data Deduplication volume (reparse tag 0x80000013, written through
// ntfs-3g): check counts them without calling them damage.
func TestCheckCountsDeduplicated(t *testing.T) {
	for _, tool := range []string{"mkntfs", "ntfs-3g", "setfattr"} {
		testutil.NeedTool(t, tool)
	}
	testutil.NeedFUSE(t)
	img := filepath.Join(t.TempDir(), "dedup.img")
	script := `set -e
img=$1; truncate -s 16M "$img"; mkntfs -q -F -Q "$img" >/dev/null 2>&1
mnt=$(mktemp -d); ntfs-3g "$img" "$mnt"
trap 'fusermount -u "$mnt"; rmdir "$mnt"' EXIT
mkdir "$mnt/d"; echo plain >"$mnt/d/plain.txt"
for f in a b; do printf x >"$mnt/d/$f"; setfattr -h -n system.ntfs_reparse_data -v 0x130000800800000001000000deadbeef "$mnt/d/$f"; done`
	if out, err := exec.Command("bash", "-c", script, "dedup", img).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	vols, err := guest.Volumes(f, st.Size(), "d")
	if err != nil || len(vols) != 1 || vols[0].FS == nil {
		t.Fatalf("%v %v", vols, err)
	}
	r := volumeReport{Problems: []string{}}
	walkVolume(context.Background(), vols[0].FS, &r)
	if r.Deduplicated != 2 || len(r.Problems) != 0 {
		t.Errorf("deduplicated %d, problems %q", r.Deduplicated, r.Problems)
	}
}
