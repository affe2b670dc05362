package guest

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ckptfs/ckptfs/btrfs"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestBtrfsVolumes finds btrfs in a GPT partition and on a whole disk:
// the volume shows the default subvolume with the content package btrfs
// reads, and a "-toplevel" sibling appears when the default subvolume is
// not the top level (the openSUSE layout).
func TestBtrfsVolumes(t *testing.T) {
	dir := testutil.BtrfsImages(t)
	testutil.NeedTool(t, "sgdisk")
	tiny, err := os.ReadFile(filepath.Join(dir, "tiny.img"))
	if err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(disk, make([]byte, 2<<20+len(tiny)), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "sgdisk", "-n", "1:2048:+32M", "-t", "1:8300", disk)
	raw, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	copy(raw[1<<20:], tiny)
	vols, err := Volumes(bytes.NewReader(raw), int64(len(raw)), "Disk0")
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 1 || vols[0].FSType != fsBtrfs || vols[0].FS == nil || vols[0].Label != "tiny" {
		t.Fatalf("volumes %+v", vols)
	}
	v := vols[0]
	want, err := btrfs.Open(bytes.NewReader(tiny), int64(len(tiny)))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"zlib.txt", "lzo.txt", "zstd.txt", "d/plain", "inline", "sv/x"} {
		a, errA := fs.ReadFile(v.FS, name)
		b, errB := fs.ReadFile(want, name)
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: %d bytes (%v), btrfs reads %d (%v)", name, len(a), errA, len(b), errB)
		}
	}
	// d/plain is checksummed: mapped for holes and diff, but not exact,
	// so reads go through the reader's checks.
	f, err := v.FS.Open("d/plain")
	if err != nil {
		t.Fatal(err)
	}
	exts, exact, err := f.(interface {
		Extents() ([]Extent, bool, error)
	}).Extents()
	if err != nil || exact || len(exts) == 0 {
		t.Errorf("d/plain extents %v exact %v: %v", exts, exact, err)
	}
	got := make([]byte, 4096)
	if _, err := v.Reader.ReadAt(got, exts[0].VolOff); err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 4096)
	if _, err := f.(io.ReaderAt).ReadAt(first, 0); err != nil || !bytes.Equal(got, first) {
		t.Errorf("d/plain's first extent is not at volume byte %d", exts[0].VolOff)
	}

	suse, err := os.Open(filepath.Join(dir, "suse.img"))
	if err != nil {
		t.Fatal(err)
	}
	defer suse.Close()
	st, _ := suse.Stat()
	vols, err = Volumes(suse, st.Size(), "Disk1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range vols {
		names = append(names, v.Name)
	}
	if !slices.Equal(names, []string{"Disk1-vol", "Disk1-vol-toplevel"}) {
		t.Fatalf("volumes %q", names)
	}
	if _, err := fs.Stat(vols[0].FS, "etc/os-release"); err != nil {
		t.Errorf("default subvolume: %v", err)
	}
	if _, err := fs.Stat(vols[1].FS, "@/.snapshots/1/snapshot/etc/os-release"); err != nil {
		t.Errorf("top level: %v", err)
	}
}
