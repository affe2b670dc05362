package diff

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ckptfs/ckptfs/guest"
)

func TestNormalizeAndClip(t *testing.T) {
	s := normalize([]span{{10, 20}, {0, 5}, {5, 8}, {15, 30}, {40, 40}})
	if want := []span{{0, 8}, {10, 30}}; !reflect.DeepEqual(s, want) {
		t.Fatalf("normalize: %v, want %v", s, want)
	}
	if got, want := clip(s, 6, 12), []span{{0, 2}, {4, 6}}; !reflect.DeepEqual(got, want) {
		t.Errorf("clip: %v, want %v", got, want)
	}
	if overlaps(s, 8, 10) || !overlaps(s, 29, 31) {
		t.Error("overlaps")
	}
}

func TestBitmapSpans(t *testing.T) {
	// sectors 0, 2-3, 8-15 and 17 of a 20-sector block at 1 MiB
	bm := []byte{0b00001101, 0xff, 0b00000010}
	got := bitmapSpans(nil, bm, 1<<20, 1<<20+20*512, 512)
	want := []span{{1 << 20, 1<<20 + 512}, {1<<20 + 1024, 1<<20 + 2048}, {1<<20 + 4096, 1<<20 + 8192}, {1<<20 + 17*512, 1<<20 + 18*512}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestRemapped(t *testing.T) {
	a := []guest.Extent{{FileOff: 0, VolOff: 100, Len: 10}, {FileOff: 10, VolOff: -1, Len: 5, Kind: guest.ExtentAbsent}}
	b := []guest.Extent{{FileOff: 0, VolOff: 100, Len: 4}, {FileOff: 4, VolOff: 300, Len: 6}, {FileOff: 10, VolOff: -1, Len: 5, Kind: guest.ExtentAbsent}, {FileOff: 15, VolOff: 9, Len: 1}}
	got := normalize(remapped(a, b))
	if want := []span{{4, 10}, {15, 16}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestRemappedVolumeIsWalked: an LVM volume in several runs of the disk
// is not [Start, Start+Size), so a change outside that window (in a later
// run) must still be found, by walking both trees.
func TestRemappedVolumeIsWalked(t *testing.T) {
	a := fstest.MapFS{"etc/hosts": {Data: []byte("127.0.0.1 a\n")}}
	b := fstest.MapFS{"etc/hosts": {Data: []byte("127.0.0.1 b\n")}}
	d := &diskDiff{name: "Disk0", differ: []span{{off: 64 << 20, end: 64<<20 + 4096}}}
	for _, remapped := range []bool{false, true} {
		va := &guest.Volume{Name: "Disk0-p1-vg-lv", Start: 1 << 20, Size: 8 << 20, FS: a, Remapped: remapped}
		vb := &guest.Volume{Name: "Disk0-p1-vg-lv", Start: 1 << 20, Size: 8 << 20, FS: b, Remapped: remapped}
		var res Result
		if err := onePass(d, &res, true).volume(context.Background(), va, vb); err != nil {
			t.Fatal(err)
		}
		if found := len(res.Files) == 1 && res.Files[0].Path == "Disk0-p1-vg-lv/etc/hosts"; found != remapped {
			t.Errorf("remapped %v: changes %+v", remapped, res.Files)
		}
	}
}

// onePass is the files pass of the one disk d, its volumes local to it
// (listed by it alone) or not.
func onePass(d *diskDiff, res *Result, local bool) *filesPass {
	return &filesPass{differ: func(string) []span { return d.differ }, res: res,
		localA: map[string]bool{"Disk0-p1-vg-lv": local, "Disk0-p1-vg-root": local},
		localB: map[string]bool{"Disk0-p1-vg-lv": local, "Disk0-p1-vg-root": local}}
}

// TestWaitingVolumeIsNoted: an LVM volume still missing a physical
// volume after the volume groups of all the disks were joined (its disk
// is only in one of the checkpoints) is named in a note, even when no
// range of its first disk changed (the change may be on the other),
// never skipped without a word.
func TestWaitingVolumeIsNoted(t *testing.T) {
	d := &diskDiff{name: "Disk0"}
	waiting := fmt.Errorf("lvm2 volume root: extents on physical volume pv1, on none of the disks given: %w", guest.ErrMissingPV)
	va := &guest.Volume{Name: "Disk0-p1-vg-root", Start: 1 << 20, Size: 8 << 20, Err: waiting}
	vb := &guest.Volume{Name: "Disk0-p1-vg-root", Start: 1 << 20, Size: 8 << 20, Err: waiting}
	var res Result
	if err := onePass(d, &res, false).volume(context.Background(), va, vb); err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "Disk0-p1-vg-root: not compared") || !strings.Contains(res.Notes[0], "none of the disks given") {
		t.Errorf("notes %q", res.Notes)
	}
}

// TestWriteTextEscapesNames: a guest file name cannot forge a line of the
// text output nor send an escape sequence to the terminal.
func TestWriteTextEscapesNames(t *testing.T) {
	r := &Result{From: "A", To: "B", Files: []FileChange{
		{Path: "vol/evil\n  - vol/forged.txt", Change: Added},
		{Path: "vol/\x1b[2Jclear", Change: Removed},
	}}
	var b strings.Builder
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count(out, "\n") != 4 || strings.Contains(out, "\x1b") || !strings.Contains(out, `evil\n  - vol/forged.txt`) {
		t.Errorf("text output:\n%s", out)
	}
}

// TestLostFilesystemIsNoted: a volume whose filesystem is read in one
// checkpoint only (a dynamic volume the database moved onto other bytes,
// or a wiped one) is noted naming the filesystem it had; the note said
// "unknown filesystem", as of a volume never formatted.
func TestLostFilesystemIsNoted(t *testing.T) {
	d := &diskDiff{name: "Disk0", differ: []span{{off: 1 << 20, end: 1<<20 + 4096}}}
	fsys := fstest.MapFS{"a.txt": {Data: []byte("a")}}
	had := &guest.Volume{Name: "Disk0-p1-vg-lv", Start: 1 << 20, Size: 8 << 20, FS: fsys, FSType: "ntfs"}
	lost := &guest.Volume{Name: "Disk0-p1-vg-lv", Start: 1 << 20, Size: 8 << 20, FSType: "unknown"}
	for _, pair := range [][2]*guest.Volume{{had, lost}, {lost, had}} {
		var res Result
		if err := onePass(d, &res, true).volume(context.Background(), pair[0], pair[1]); err != nil {
			t.Fatal(err)
		}
		if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "not compared: ") || !strings.Contains(res.Notes[0], "ntfs in the") {
			t.Errorf("notes %q", res.Notes)
		}
	}
}
