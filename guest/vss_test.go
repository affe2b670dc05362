package guest

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vss"
)

func sampleVolumes(t *testing.T, archive, member string) []*Volume {
	t.Helper()
	img := testutil.UntarSample(t, archive, member, false)
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	vols, err := Volumes(f, st.Size(), "Disk0")
	if err != nil {
		t.Fatal(err)
	}
	return vols
}

func volumeNames(vols []*Volume) string {
	var names []string
	for _, v := range vols {
		names = append(names, v.Name)
	}
	return strings.Join(names, " ")
}

// The Windows 10 sample keeps partition 2's copies on partition 1: they
// are found there, and each copy shows the file its author filled with
// the copy's digit ('3' on the live volume).
func TestShadowsExternalStorage(t *testing.T) {
	vols := sampleVolumes(t, "windows/vss_3_volstor.tar.gz", "vss_3_volstor.raw")
	want := "Disk0-p1 Disk0-p2 Disk0-p2@2021-03-13T22.13.17 Disk0-p2@2021-03-13T22.13.30"
	if got := volumeNames(vols); got != want {
		t.Fatalf("volumes %q, want %q", got, want)
	}
	if _, ok := vols[1].ShadowExtents(0, 1); ok {
		t.Errorf("%s: a live volume has shadow extents", vols[1].Name)
	}
	for i, v := range vols[2:] {
		if v.Err != nil || v.FS == nil || v.FSType != fsNTFS || v.ShadowOf != "Disk0-p2" || !v.Remapped ||
			strings.Join(v.Layers, ",") != "vss" || v.Number != 2 || v.ShadowID == "" || v.ShadowOffline {
			t.Fatalf("%s: %+v", v.Name, v)
		}
		r, ok := v.Reader.(*vss.Reader)
		if !ok {
			t.Fatalf("%s: reader %T", v.Name, v.Reader)
		}
		checkShadowExtents(t, v, r)
		buf := make([]byte, 52272)
		if _, err := r.ReadAt(buf, 261856*4096); err != nil || len(bytes.Trim(buf, string(rune('1'+i)))) != 0 {
			t.Errorf("%s: marker range is not the copy's digit (%v)", v.Name, err)
		}
		if _, err := fs.ReadDir(v.FS, "."); err != nil {
			t.Error(err)
		}
	}
}

func TestShadowsWindows2003(t *testing.T) {
	vols := sampleVolumes(t, "windows/vss_2003.tgz", "vss_2003.raw")
	want := "Disk0-p1 Disk0-p1@2019-06-04T23.43.01 Disk0-p1@2019-06-04T23.43.32 Disk0-p1@2019-06-04T23.44.38 " +
		"Disk0-p1@2019-06-05T10.34.42 Disk0-p1@2019-06-05T10.34.46 Disk0-p1@2019-06-05T10.34.48"
	if got := volumeNames(vols); got != want {
		t.Fatalf("volumes %q, want %q", got, want)
	}
	var offline []bool
	for _, v := range vols[1:] {
		if v.Err != nil || v.FS == nil {
			t.Fatalf("%s: %v", v.Name, v.Err)
		}
		offline = append(offline, v.ShadowOffline)
	}
	if !slices.Equal(offline, []bool{false, false, false, true, false, true}) {
		t.Errorf("offline %v", offline)
	}
}

// A damaged catalog is one volume carrying the error; the live volume is
// still read.
func TestShadowsDamagedCatalog(t *testing.T) {
	img := testutil.UntarSample(t, "windows/vss_2003.tgz", "vss_2003.raw", false)
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The catalog's first block (at 0x12ce8000 in the volume) loops to
	// itself.
	const catalog = 63*512 + 0x12ce8000
	next := make([]byte, 8)
	for i := range 8 {
		next[i] = byte(uint64(0x12ce8000) >> (8 * i))
	}
	if _, err := f.WriteAt(next, catalog+40); err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	vols, err := Volumes(f, st.Size(), "Disk0")
	if err != nil {
		t.Fatal(err)
	}
	if got := volumeNames(vols); got != "Disk0-p1 Disk0-p1@vss" {
		t.Fatalf("volumes %q", got)
	}
	if vols[0].FS == nil || vols[0].Err != nil {
		t.Errorf("live volume: %v", vols[0].Err)
	}
	if !errors.Is(vols[1].Err, vss.ErrLoop) {
		t.Errorf("damaged catalog: %v, want vss.ErrLoop", vols[1].Err)
	}
}

// checkShadowExtents checks that v.ShadowExtents is the store's own map
// (vss.Reader.Extents) in guest's terms, covering the whole copy.
func checkShadowExtents(t *testing.T, v *Volume, r *vss.Reader) {
	t.Helper()
	got, ok := v.ShadowExtents(0, v.Size)
	want := r.Extents(0, v.Size)
	if !ok || len(got) != len(want) || len(got) == 0 {
		t.Fatalf("%s: ShadowExtents gave %d extents (ok %v), the store %d", v.Name, len(got), ok, len(want))
	}
	var pos int64
	copied := 0
	for i, e := range got {
		w := want[i]
		src := map[vss.Source]ShadowSource{vss.Live: ShadowLive, vss.Copied: ShadowCopied, vss.Zero: ShadowZero}[w.Source]
		if e.Off != w.Off || e.Len != w.Len || e.Source != src || e.Off != pos {
			t.Fatalf("%s: extent %d is %+v, want %+v at %d", v.Name, i, e, w, pos)
		}
		pos += e.Len
		if e.Source == ShadowCopied {
			copied++
		}
	}
	if pos != v.Size || copied == 0 {
		t.Fatalf("%s: extents cover %d of %d bytes, %d copied", v.Name, pos, v.Size, copied)
	}
}
