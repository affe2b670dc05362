package diff

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/ntfs"
)

// TestTornRecordFallsBack tears the MFT record of a new file in the newer
// state: the incremental path must give up with a note and the full walk
// take over, without failing the diff.
func TestTornRecordFallsBack(t *testing.T) {
	s := states(t)
	torn := bytes.Clone(s[1])
	vols, err := guest.Volumes(bytes.NewReader(torn), int64(len(torn)), "x")
	if err != nil || len(vols) != 1 {
		t.Fatalf("volumes: %v %v", vols, err)
	}
	gv := vols[0]
	nv, _ := guest.NTFSVolume(gv.FS)
	st, err := nv.Stat("new.txt")
	if err != nil {
		t.Fatal(err)
	}
	off, err := nv.RecordOffset(st.Sys().(*ntfs.FileRecordInfo).Ref.Record)
	if err != nil {
		t.Fatal(err)
	}
	torn[gv.Start+off+510] ^= 0xff // the first sector's update sequence slot

	dir := t.TempDir()
	layer(t, filepath.Join(dir, "disk.vhdx"), "", nil, s[0], nil)
	layer(t, filepath.Join(dir, "disk_torn.avhdx"), filepath.Join(dir, "disk.vhdx"), s[0], torn, nil)
	res := compare(t, dir, "disk", "disk_torn")
	var fellBack bool
	for _, n := range res.Notes {
		fellBack = fellBack || strings.Contains(n, "full walk")
	}
	if !fellBack {
		t.Errorf("no fallback note: %q", res.Notes)
	}
	// The walk still pairs the rename by MFT reference.
	var renamed bool
	for _, f := range res.Files {
		renamed = renamed || (f.Path == vol+"/renamed.txt" && f.Change == Renamed && f.From == vol+"/rename-me.txt")
	}
	if !renamed {
		t.Errorf("walk missed the rename: %+v", res.Files)
	}
}
