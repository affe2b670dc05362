package diff

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/ntfs"
)

const vol = "Disk0-p1"

// chain builds, in a temporary folder, the chain
//
//	disk.vhdx (state0) ← disk_s1.avhdx (state1) ← disk_s2.avhdx (state2)
//	disk.vhdx          ← disk_s2b.avhdx (state2, a sibling branch)
//
// where disk_s2 also rewrites big.bin's clusters with the same bytes.
// It returns the folder and the spans of big.bin on the disk.
func chain(t *testing.T) (string, []span) {
	t.Helper()
	s := states(t)
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	big := fileSpans(t, s[1], "big.bin")
	layer(t, p("disk.vhdx"), "", nil, s[0], nil)
	layer(t, p("disk_s1.avhdx"), p("disk.vhdx"), s[0], s[1], nil)
	layer(t, p("disk_s2.avhdx"), p("disk_s1.avhdx"), s[1], s[2], big)
	layer(t, p("disk_s2b.avhdx"), p("disk.vhdx"), s[0], s[2], nil)
	return dir, big
}

// fileSpans finds where a file's data lies on a raw disk image, through
// package ntfs's extents.
func fileSpans(t *testing.T, img []byte, name string) []span {
	t.Helper()
	vols, err := guest.Volumes(bytes.NewReader(img), int64(len(img)), "x")
	if err != nil || len(vols) != 1 {
		t.Fatalf("volumes: %v %v", vols, err)
	}
	gv := vols[0]
	nv, _ := guest.NTFSVolume(gv.FS)
	f, err := nv.OpenFile(name)
	if err != nil {
		t.Fatal(err)
	}
	exts, _, err := f.Extents()
	if err != nil {
		t.Fatal(err)
	}
	var out []span
	for _, e := range exts {
		if !e.Sparse {
			out = append(out, span{gv.Start + e.VolOff, gv.Start + e.VolOff + e.Len})
		}
	}
	if total(out) < f.Size() {
		t.Fatalf("%s: runs cover %d bytes of %d", name, total(out), f.Size())
	}
	return out
}

func compare(t *testing.T, dir, from, to string) *Result {
	t.Helper()
	vm := openVM(t, dir)
	res, err := Compare(context.Background(), find(t, vm, from), find(t, vm, to), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkRanges asserts that the ranges cover exactly the sectors where the
// raw states differ, each named after one of the allowed layers.
func checkRanges(t *testing.T, res *Result, a, b []byte, layers ...string) {
	t.Helper()
	var got []span
	for _, r := range res.Ranges {
		got = append(got, span{r.Offset, r.End()})
		ok := false
		for _, l := range layers {
			ok = ok || r.Layer == l
		}
		if !ok || r.Disk != "Disk0" {
			t.Errorf("range %+v: want disk Disk0 and a layer of %v", r, layers)
		}
	}
	got = normalize(got)
	want := sectorDiff(a, b)
	if len(got) != len(want) {
		t.Fatalf("%d ranges (%d bytes), want %d (%d bytes)", len(got), total(got), len(want), total(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("range %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestAdjacentCheckpoints(t *testing.T) {
	dir, big := chain(t)
	s := states(t)
	res := compare(t, dir, "disk", "disk_s1")
	checkRanges(t, res, s[0], s[1], "disk_s1.avhdx")
	checkFiles(t, vol, res.Files, 0, 1, nil)
	if len(res.Notes) != 0 {
		t.Errorf("notes: %q", res.Notes)
	}

	res = compare(t, dir, "disk_s1", "disk_s2")
	checkRanges(t, res, s[1], s[2], "disk_s2.avhdx")
	checkFiles(t, vol, res.Files, 1, 2, nil)
	for _, f := range res.Files {
		if strings.HasSuffix(f.Path, "/big.bin") {
			t.Errorf("big.bin was rewritten with the same bytes, yet listed: %+v", f)
		}
	}
	// The layer does hold big.bin's clusters: the candidates saw them and
	// confirming dropped them.
	vm := openVM(t, dir)
	d := find(t, vm, "disk_s2").Disks[0]
	cands, err := candidates(d.Chain.Layers[:1], d.Chain.Size())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range big {
		if !covered(cands, b) {
			t.Errorf("big.bin span %+v not among the candidates", b)
		}
		if overlaps(sectorDiff(s[1], s[2]), b.off, b.end) {
			t.Errorf("big.bin span %+v differs between the states", b)
		}
	}
}

func covered(s []span, x span) bool {
	return total(clip(s, x.off, x.end)) == x.end-x.off
}

func TestDistantAndReversed(t *testing.T) {
	dir, _ := chain(t)
	s := states(t)
	res := compare(t, dir, "disk", "disk_s2")
	checkRanges(t, res, s[0], s[2], "disk_s1.avhdx", "disk_s2.avhdx")
	checkFiles(t, vol, res.Files, 0, 2, nil)

	res = compare(t, dir, "disk_s2", "disk")
	checkRanges(t, res, s[2], s[0], "disk_s1.avhdx", "disk_s2.avhdx")
	checkFiles(t, vol, res.Files, 2, 0, nil)
}

func TestSiblingBranches(t *testing.T) {
	dir, _ := chain(t)
	s := states(t)
	res := compare(t, dir, "disk_s1", "disk_s2b")
	checkRanges(t, res, s[1], s[2], "disk_s1.avhdx", "disk_s2b.avhdx")
	checkFiles(t, vol, res.Files, 1, 2, nil)
}

func TestSameCheckpoint(t *testing.T) {
	dir, _ := chain(t)
	res := compare(t, dir, "disk_s1", "disk_s1")
	if len(res.Ranges) != 0 || len(res.Files) != 0 {
		t.Errorf("a checkpoint differs from itself: %+v", res)
	}
}

// TestWalkAgrees runs the generic full walk over the same NTFS states: it
// sees fewer properties, but the same paths.
func TestWalkAgrees(t *testing.T) {
	dir, _ := chain(t)
	vm := openVM(t, dir)
	a, b := find(t, vm, "disk").Disks[0].Chain, find(t, vm, "disk_s1").Disks[0].Chain
	va, err := guest.Volumes(a, a.Size(), "disk")
	if err != nil {
		t.Fatal(err)
	}
	vb, err := guest.Volumes(b, b.Size(), "disk")
	if err != nil {
		t.Fatal(err)
	}
	files, notes, err := walkDiff(context.Background(), vol, va[0].FS, vb[0].FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 0 {
		t.Errorf("notes: %q", notes)
	}
	checkFiles(t, vol, files, 0, 1, map[string]bool{WhatContent: true, WhatSize: true, WhatMtime: true})
}

func TestJSONAndText(t *testing.T) {
	dir, _ := chain(t)
	res := compare(t, dir, "disk", "disk_s1")
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"from", "to", "ranges", "files"} {
		if _, ok := back[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	r0 := back["ranges"].([]any)[0].(map[string]any)
	for _, k := range []string{"disk", "offset", "length", "layer"} {
		if _, ok := r0[k]; !ok {
			t.Errorf("range lacks %q", k)
		}
	}
	var renamed bool
	for _, f := range back["files"].([]any) {
		m := f.(map[string]any)
		if m["change"] == "renamed" {
			renamed = m["from"] != nil
		}
	}
	if !renamed {
		t.Error("no renamed entry with a from field")
	}
	var text bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if want := 1 + len(res.Ranges) + len(res.Files) + len(res.Notes) + 1; len(lines) != want {
		t.Errorf("text has %d lines, want %d:\n%s", len(lines), want, text.String())
	}
	if !strings.Contains(text.String(), "R "+vol+"/renamed.txt ← "+vol+"/rename-me.txt") {
		t.Errorf("text lacks the rename:\n%s", text.String())
	}
}

var _ fs.FS = (*ntfs.Volume)(nil)
