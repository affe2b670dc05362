package diff

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/ntfs"
)

// openNTFS opens the one NTFS volume of a raw disk image.
func openNTFS(t *testing.T, img []byte) (*guest.Volume, *ntfs.Volume) {
	t.Helper()
	vols, err := guest.Volumes(bytes.NewReader(img), int64(len(img)), "x")
	if err != nil || len(vols) != 1 {
		t.Fatalf("volumes: %v %v", vols, err)
	}
	nv, ok := guest.NTFSVolume(vols[0].FS)
	if !ok {
		t.Fatalf("not NTFS: %v", vols[0].Err)
	}
	return vols[0], nv
}

// recordsOf is the record-level side of a guest volume.
func recordsOf(t testing.TB, gv *guest.Volume) *recordState {
	t.Helper()
	r, ok := gv.FS.(guest.RecordFS)
	if !ok {
		t.Fatalf("%s: a %T has no records", gv.Name, gv.FS)
	}
	return &recordState{fs: r}
}

// recordBytes returns the MFT record of the named file as it lies in img.
func recordBytes(t *testing.T, img []byte, name string) []byte {
	t.Helper()
	gv, nv := openNTFS(t, img)
	st, err := nv.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	off, err := nv.RecordOffset(st.Sys().(*ntfs.FileRecordInfo).Ref.Record)
	if err != nil {
		t.Fatal(err)
	}
	at := gv.Start + off
	return bytes.Clone(img[at : at+int64(nv.Geometry().RecordSize)])
}

// rawWrite returns a copy of img where data overwrites bytes fileOff... of
// the named file's stream directly in its clusters, as a write below the
// file system would: the MFT is not touched.
func rawWrite(t *testing.T, img []byte, name, stream string, fileOff int64, data []byte) []byte {
	t.Helper()
	gv, nv := openNTFS(t, img)
	f, err := nv.OpenStream(name, stream)
	if err != nil {
		t.Fatal(err)
	}
	if fileOff+int64(len(data)) > f.Size() {
		t.Fatalf("%s:%s: write past its %d bytes", name, stream, f.Size())
	}
	exts, exact, err := f.Extents()
	if err != nil || !exact {
		t.Fatalf("%s:%s: extents %v exact %v", name, stream, err, exact)
	}
	for _, e := range exts {
		if e.Sparse || fileOff < e.FileOff || fileOff+int64(len(data)) > e.FileOff+e.Len {
			continue
		}
		out := bytes.Clone(img)
		at := gv.Start + e.VolOff + fileOff - e.FileOff
		if bytes.Equal(out[at:at+int64(len(data))], data) {
			t.Fatal("the raw write would not change anything")
		}
		copy(out[at:], data)
		return out
	}
	t.Fatalf("%s:%s: no single extent holds bytes %d+%d", name, stream, fileOff, len(data))
	return nil
}

// rawPair builds disk.vhdx (from) ← disk_raw.avhdx (to) and checks that
// the named file's MFT record is byte-identical in both.
func rawPair(t *testing.T, from, to []byte, name string) string {
	t.Helper()
	if !bytes.Equal(recordBytes(t, from, name), recordBytes(t, to, name)) {
		t.Fatalf("%s: the MFT record differs between the states; the case needs it unchanged", name)
	}
	dir := t.TempDir()
	layer(t, filepath.Join(dir, "disk.vhdx"), "", nil, from, nil)
	layer(t, filepath.Join(dir, "disk_raw.avhdx"), filepath.Join(dir, "disk.vhdx"), from, to, nil)
	return dir
}

func compareOpt(t *testing.T, dir, from, to string, opt Options) *Result {
	t.Helper()
	vm := openVM(t, dir)
	res, err := Compare(context.Background(), find(t, vm, from), find(t, vm, to), opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var rawData = bytes.Repeat([]byte("raw sector write "), 30)

// TestThoroughRawWrite overwrites bytes of rewrite.bin in its clusters,
// its MFT record untouched. The record-based diff cannot see it (the
// documented limit); the thorough one reports the content change, and
// nothing else.
func TestThoroughRawWrite(t *testing.T) {
	s := states(t)
	raw := rawWrite(t, s[0], "rewrite.bin", "", 5000, rawData)
	dir := rawPair(t, s[0], raw, "rewrite.bin")

	plain := compareOpt(t, dir, "disk", "disk_raw", Options{})
	checkRanges(t, plain, s[0], raw, "disk_raw.avhdx")
	if len(plain.Files) != 0 || len(plain.Notes) != 0 {
		t.Errorf("without Thorough: files %+v notes %q; the record-based diff was expected to miss the raw write", plain.Files, plain.Notes)
	}

	want := []FileChange{FileChange{Path: vol + "/rewrite.bin", Change: Modified, What: []string{WhatContent}}.sizes(100000, 100000)}
	for _, pair := range [][2]string{{"disk", "disk_raw"}, {"disk_raw", "disk"}} {
		res := compareOpt(t, dir, pair[0], pair[1], Options{Thorough: true})
		if !reflect.DeepEqual(res.Files, want) {
			t.Errorf("%s → %s thorough: files %+v, want %+v", pair[0], pair[1], res.Files, want)
		}
		if len(res.Notes) != 0 {
			t.Errorf("%s → %s thorough: notes %q", pair[0], pair[1], res.Notes)
		}
	}
	res := compareOpt(t, dir, "disk", "disk_raw", Options{Thorough: true})
	if !reflect.DeepEqual(res.Ranges, plain.Ranges) {
		t.Errorf("Thorough changed the ranges: %+v, was %+v", res.Ranges, plain.Ranges)
	}
}

// TestThoroughAmongChanges hides a raw write into big.bin among the
// ordinary changes from state 0 to state 1: Thorough must report exactly
// what the plain diff does plus big.bin.
func TestThoroughAmongChanges(t *testing.T) {
	s := states(t)
	raw := rawWrite(t, s[1], "big.bin", "", 3<<20+123, rawData)
	if !bytes.Equal(recordBytes(t, s[0], "big.bin"), recordBytes(t, s[1], "big.bin")) {
		t.Fatal("big.bin's record changed from state 0 to 1; the case needs it unchanged")
	}
	rawPair(t, s[1], raw, "big.bin") // checks the record against the raw state
	dir := t.TempDir()
	layer(t, filepath.Join(dir, "disk.vhdx"), "", nil, s[0], nil)
	layer(t, filepath.Join(dir, "disk_raw.avhdx"), filepath.Join(dir, "disk.vhdx"), s[0], raw, nil)

	plain := compareOpt(t, dir, "disk", "disk_raw", Options{})
	checkFiles(t, vol, plain.Files, 0, 1, nil)
	thorough := compareOpt(t, dir, "disk", "disk_raw", Options{Thorough: true})
	want := append(append([]FileChange(nil), plain.Files...),
		FileChange{Path: vol + "/big.bin", Change: Modified, What: []string{WhatContent}}.sizes(8000000, 8000000))
	sort.SliceStable(want, func(i, j int) bool { return want[i].Path < want[j].Path })
	if !reflect.DeepEqual(thorough.Files, want) {
		t.Errorf("thorough files:\n got %+v\nwant %+v", thorough.Files, want)
	}
	if len(plain.Notes) != 0 || len(thorough.Notes) != 0 {
		t.Errorf("notes: plain %q, thorough %q", plain.Notes, thorough.Notes)
	}
}

// TestThoroughSameAsPlain runs Thorough over the ordinary chain, where
// every data change went through the file system: nothing is added.
func TestThoroughSameAsPlain(t *testing.T) {
	dir, _ := chain(t)
	for _, pair := range [][2]string{{"disk", "disk_s1"}, {"disk_s1", "disk_s2"}, {"disk_s2", "disk"}, {"disk_s1", "disk_s2b"}} {
		plain := compareOpt(t, dir, pair[0], pair[1], Options{})
		thorough := compareOpt(t, dir, pair[0], pair[1], Options{Thorough: true})
		if !reflect.DeepEqual(plain, thorough) {
			t.Errorf("%s → %s: thorough %+v, plain %+v", pair[0], pair[1], thorough, plain)
		}
	}
}

// TestThoroughUnreadableRecord tears keep.txt's record in both states:
// the plain diff never reads it and says nothing; the thorough scan names
// it once per state and still finds the raw write.
func TestThoroughUnreadableRecord(t *testing.T) {
	s := states(t)
	torn := bytes.Clone(s[0])
	gv, nv := openNTFS(t, torn)
	st, err := nv.Stat("keep.txt")
	if err != nil {
		t.Fatal(err)
	}
	num := st.Sys().(*ntfs.FileRecordInfo).Ref.Record
	off, err := nv.RecordOffset(num)
	if err != nil {
		t.Fatal(err)
	}
	torn[gv.Start+off+510] ^= 0xff // the first sector's update sequence slot
	raw := rawWrite(t, torn, "rewrite.bin", "", 0, rawData)
	dir := rawPair(t, torn, raw, "rewrite.bin")

	plain := compareOpt(t, dir, "disk", "disk_raw", Options{})
	if len(plain.Files) != 0 || len(plain.Notes) != 0 {
		t.Errorf("without Thorough: files %+v notes %q", plain.Files, plain.Notes)
	}
	res := compareOpt(t, dir, "disk", "disk_raw", Options{Thorough: true})
	want := []FileChange{FileChange{Path: vol + "/rewrite.bin", Change: Modified, What: []string{WhatContent}}.sizes(100000, 100000)}
	if !reflect.DeepEqual(res.Files, want) {
		t.Errorf("files %+v, want %+v", res.Files, want)
	}
	if len(res.Notes) != 2 {
		t.Fatalf("notes %q, want one per state", res.Notes)
	}
	for i, state := range []string{"older", "newer"} {
		n := res.Notes[i]
		if !strings.Contains(n, "MFT record "+strconv.FormatUint(num, 10)+" ") || !strings.Contains(n, state) || !strings.HasPrefix(n, vol+": ") {
			t.Errorf("note %q does not name record %d of the %s state", n, num, state)
		}
	}
}

// TestThoroughCancelled stops the scan through its context.
func TestThoroughCancelled(t *testing.T) {
	s := states(t)
	gv, _ := openNTFS(t, s[0])
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := dataFiles(ctx, vol, "the older state", recordsOf(t, gv), []span{{0, 1 << 30}}, map[uint64]bool{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

// streamImage makes a bare NTFS volume (no partition table) holding
// host.txt, whose unnamed data is resident and whose stream "ads" is not,
// and data.bin beside it. It needs no mount: ntfscp writes the volume.
func streamImage(t *testing.T) []byte {
	t.Helper()
	mkntfs := testutil.NeedTool(t, "mkntfs")
	ntfscp := testutil.NeedTool(t, "ntfscp")
	dir := t.TempDir()
	img := filepath.Join(dir, "vol.img")
	p := func(name string, b []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	if err := os.Truncate(p("vol.img", nil), 8<<20); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, mkntfs, "-q", "-F", "-Q", "-s", "512", "-c", "4096", "-L", "Streams", img)
	testutil.Run(t, ntfscp, "-q", img, p("host", []byte("host\n")), "host.txt")
	testutil.Run(t, ntfscp, "-q", "-N", "ads", img, p("ads", bytes.Repeat([]byte("stream data "), 1000)), "host.txt")
	testutil.Run(t, ntfscp, "-q", img, p("data", bytes.Repeat([]byte("file data "), 3000)), "data.bin")
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestThoroughNamedStream writes raw bytes into the clusters of a named
// stream: Thorough reports the file's streams as changed.
func TestThoroughNamedStream(t *testing.T) {
	img := streamImage(t)
	raw := rawWrite(t, img, "host.txt", "ads", 4200, rawData)
	dir := rawPair(t, img, raw, "host.txt")
	const bare = "Disk0-vol"

	plain := compareOpt(t, dir, "disk", "disk_raw", Options{})
	if len(plain.Files) != 0 || len(plain.Notes) != 0 || len(plain.Ranges) != 1 {
		t.Errorf("without Thorough: ranges %+v files %+v notes %q", plain.Ranges, plain.Files, plain.Notes)
	}
	res := compareOpt(t, dir, "disk", "disk_raw", Options{Thorough: true})
	want := []FileChange{FileChange{Path: bare + "/host.txt", Change: Modified, What: []string{WhatStreams}}.sizes(5, 5)}
	if !reflect.DeepEqual(res.Files, want) || len(res.Notes) != 0 {
		t.Errorf("thorough: files %+v notes %q, want %+v", res.Files, res.Notes, want)
	}
}

// TestThoroughNotesBounded tears twelve records of one state: the scan
// names the first maxScanNotes and counts the rest.
func TestThoroughNotesBounded(t *testing.T) {
	s := states(t)
	torn := bytes.Clone(s[0])
	gv, nv := openNTFS(t, torn)
	var offs []int64
	for num := uint64(16); num < nv.Records() && len(offs) < maxScanNotes+2; num++ {
		h, err := nv.RecordHeader(num)
		if err != nil || !h.Present || !h.InUse || h.Base.Record != 0 {
			continue
		}
		off, err := nv.RecordOffset(num)
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, off)
	}
	if len(offs) < maxScanNotes+2 {
		t.Fatalf("only %d file records", len(offs))
	}
	for _, off := range offs {
		torn[gv.Start+off+510] ^= 0xff
	}
	gv, _ = openNTFS(t, torn)
	notes, err := dataFiles(context.Background(), vol, "the older state", recordsOf(t, gv), []span{{0, 1}}, map[uint64]bool{})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != maxScanNotes+1 || !strings.Contains(notes[maxScanNotes], "2 more MFT records") {
		t.Errorf("notes %q", notes)
	}
}
