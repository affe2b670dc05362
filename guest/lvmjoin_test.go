package guest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// lvmSpanText is a group of two physical volumes, pv0 (%[2]s) and pv1
// (%[3]s), of 4 KiB extents from 64 KiB: "root" runs over both (extents
// 0-3 on pv0 from 0, 4-7 on pv1 from 2), "data" lies on pv1 alone, "solo"
// on pv0 alone, "thin" is a thin volume starting nowhere. %[1]d is the
// sequence number.
const lvmSpanText = `span {
	id = "SpanVG-0000-1111-2222-3333-4444-555566"
	seqno = %[1]d
	format = "lvm2"
	status = ["READ"]
	extent_size = 8
	physical_volumes {
		pv0 {
			id = "%[2]s"
			device = "/dev/sda"
			pe_start = 128
			pe_count = 8
		}
		pv1 {
			id = "%[3]s"
			device = "/dev/sdb"
			pe_start = 128
			pe_count = 8
		}
	}
	logical_volumes {
		root {
			status = ["READ", "VISIBLE"]
			segment1 {
				start_extent = 0
				extent_count = 4
				type = "striped"
				stripe_count = 1
				stripes = [ "pv0", 0 ]
			}
			segment2 {
				start_extent = 4
				extent_count = 4
				type = "striped"
				stripe_count = 1
				stripes = [ "pv1", 2 ]
			}
		}
		data {
			status = ["READ", "VISIBLE"]
			segment1 {
				start_extent = 0
				extent_count = 2
				type = "striped"
				stripe_count = 1
				stripes = [ "pv1", 0 ]
			}
		}
		solo {
			status = ["READ", "VISIBLE"]
			segment1 {
				start_extent = 0
				extent_count = 2
				type = "striped"
				stripe_count = 1
				stripes = [ "pv0", 4 ]
			}
		}
		thin {
			status = ["READ", "VISIBLE"]
			segment1 {
				start_extent = 0
				extent_count = 2
				type = "thin"
				thin_pool = "pool"
			}
		}
	}
}
`

const (
	spanUUIDA = "SpanPA-0000-1111-2222-3333-4444-555566"
	spanUUIDB = "SpanPB-0000-1111-2222-3333-4444-555566"
	spanPE    = 64 << 10
	spanExt   = 4 << 10
)

// spanPVs makes the two physical volumes of lvmSpanText, 8 extents each,
// every extent filled with its own byte: 'A'+i on pv0, 'a'+i on pv1.
func spanPVs(seqA, seqB int) (a, b []byte) {
	a = makeLVMPV(spanPE+8*spanExt, spanPE, spanUUIDA, fmt.Sprintf(lvmSpanText, seqA, spanUUIDA, spanUUIDB), false)
	b = makeLVMPV(spanPE+8*spanExt, spanPE, spanUUIDB, fmt.Sprintf(lvmSpanText, seqB, spanUUIDA, spanUUIDB), false)
	for i := range 8 {
		copy(a[spanPE+i*spanExt:], bytes.Repeat([]byte{'A' + byte(i)}, spanExt))
		copy(b[spanPE+i*spanExt:], bytes.Repeat([]byte{'a' + byte(i)}, spanExt))
	}
	return a, b
}

// spanDisks lists the volumes of each disk, then joined.
func spanDisks(t *testing.T, disks map[string][]byte, order ...string) (perDisk, joined []*Volume) {
	t.Helper()
	for _, name := range order {
		d := disks[name]
		vols, err := Volumes(bytes.NewReader(d), int64(len(d)), name)
		if err != nil {
			t.Fatal(err)
		}
		perDisk = append(perDisk, vols...)
	}
	return perDisk, JoinVolumeGroups(perDisk)
}

func byNameOf(vols []*Volume) map[string]*Volume {
	m := map[string]*Volume{}
	for _, v := range vols {
		m[v.Name] = v
	}
	return m
}

// TestJoinVolumeGroups joins hand-made physical volumes of one group on
// two disks: the volume over both opens with its bytes in order, each
// volume is listed once, and what is missing or inconsistent is named.
func TestJoinVolumeGroups(t *testing.T) {
	a, b := spanPVs(3, 3)
	disks := map[string][]byte{"A": a, "B": b}
	perDisk, joined := spanDisks(t, disks, "A", "B")
	if got, want := volumeNames(perDisk), "A-vol A-vol-span-root A-vol-span-solo A-vol-span-thin B-vol B-vol-span-data"; got != want {
		t.Errorf("per disk: %s, want %s", got, want)
	}
	if v := byNameOf(perDisk)["A-vol-span-root"]; v == nil || !errors.Is(v.Err, ErrUnsupported) || !strings.Contains(v.Err.Error(), "pv1 (UUID "+spanUUIDB+")") {
		t.Errorf("root before the join: %+v", v)
	}
	if got := volumeNames(joined); got != volumeNames(perDisk) {
		t.Errorf("joined: %s, want the same names as per disk", got)
	}
	m := byNameOf(joined)
	root := m["A-vol-span-root"]
	if root == nil || root.Err != nil || root.Reader == nil || root.Size != 8*spanExt || !root.Remapped || root.DiskName() != "A" ||
		root.Start != spanPE || root.PartName != "span/root" {
		t.Fatalf("root: %+v", root)
	}
	got, err := io.ReadAll(io.NewSectionReader(root.Reader, 0, root.Size))
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, c := range "ABCDcdef" {
		want = append(want, bytes.Repeat([]byte{byte(c)}, spanExt)...)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("root's bytes do not run A-D on pv0 then c-f on pv1")
	}
	// A read across the disks' border, not aligned.
	p := make([]byte, 10)
	if n, err := root.Reader.ReadAt(p, 4*spanExt-5); n != 10 || err != nil || string(p) != "DDDDDccccc" {
		t.Errorf("read across the border: %q %d %v", p, n, err)
	}
	if v := m["A-vol-span-thin"]; v == nil || !errors.Is(v.Err, ErrUnsupported) {
		t.Errorf("thin: %+v", v)
	}
	// Joining again changes nothing.
	if again := JoinVolumeGroups(joined); volumeNames(again) != volumeNames(joined) || byNameOf(again)["A-vol-span-root"] != root {
		t.Errorf("a second join: %s", volumeNames(again))
	}
	// The disks in the other order: names are the same.
	_, rev := spanDisks(t, disks, "B", "A")
	if got, want := volumeNames(rev), "B-vol B-vol-span-data A-vol A-vol-span-root A-vol-span-solo A-vol-span-thin"; got != want {
		t.Errorf("B then A: %s, want %s", got, want)
	}
	if v := byNameOf(rev)["A-vol-span-root"]; v == nil || v.Err != nil {
		t.Errorf("root, B then A: %+v", v)
	}

	t.Run("missing disk", func(t *testing.T) {
		// Only B: root and solo start on the missing pv0 and are added
		// beside pv1, root with an error naming pv0.
		_, only := spanDisks(t, disks, "B")
		if got, want := volumeNames(only), "B-vol B-vol-span-data B-vol-span-root B-vol-span-solo B-vol-span-thin"; got != want {
			t.Errorf("only B: %s, want %s", got, want)
		}
		m := byNameOf(only)
		for _, name := range []string{"B-vol-span-root", "B-vol-span-solo"} {
			if v := m[name]; v == nil || !errors.Is(v.Err, ErrMissingPV) || !strings.Contains(v.Err.Error(), spanUUIDA) {
				t.Errorf("%s: %+v", name, v)
			}
		}
		if v := m["B-vol-span-data"]; v == nil || v.Err != nil || v.Reader == nil {
			t.Errorf("data: %+v", v)
		}
		// Only A: root waits for pv1.
		_, onlyA := spanDisks(t, disks, "A")
		if v := byNameOf(onlyA)["A-vol-span-root"]; v == nil || !errors.Is(v.Err, ErrMissingPV) || !strings.Contains(v.Err.Error(), "pv1 (UUID "+spanUUIDB+")") {
			t.Errorf("root without B: %+v", v)
		}
	})
	t.Run("newest metadata", func(t *testing.T) {
		// pv1's copy is newer: it moves root's second half to its
		// extents 4-7, and solo (on pv0 alone, opened by disk A with
		// pv0's older copy) to pv0's extents 6-7.
		a, b := spanPVs(3, 4)
		newer := strings.NewReplacer(`stripes = [ "pv1", 2 ]`, `stripes = [ "pv1", 4 ]`, `stripes = [ "pv0", 4 ]`, `stripes = [ "pv0", 6 ]`).
			Replace(fmt.Sprintf(lvmSpanText, 4, spanUUIDA, spanUUIDB))
		copy(b, makeLVMPV(spanPE, spanPE, spanUUIDB, newer, false))
		perDisk, joined := spanDisks(t, map[string][]byte{"A": a, "B": b}, "A", "B")
		m := byNameOf(joined)
		root := m["A-vol-span-root"]
		if root == nil || root.Err != nil {
			t.Fatalf("root: %+v", root)
		}
		p := make([]byte, 1)
		if _, err := root.Reader.ReadAt(p, 4*spanExt); err != nil || p[0] != 'e' {
			t.Errorf("root's extent 4 from the newer metadata: %q %v", p, err)
		}
		if v := byNameOf(perDisk)["A-vol-span-solo"]; v == nil || v.Reader == nil {
			t.Fatalf("solo per disk: %+v", v)
		} else if _, err := v.Reader.ReadAt(p, 0); err != nil || p[0] != 'E' {
			t.Errorf("solo per disk, by pv0's copy: %q %v", p, err)
		}
		if v := m["A-vol-span-solo"]; v == nil || v.Reader == nil {
			t.Errorf("solo: %+v", v)
		} else if _, err := v.Reader.ReadAt(p, 0); err != nil || p[0] != 'G' {
			t.Errorf("solo joined, by pv1's newer copy: %q %v", p, err)
		}
		if got := volumeNames(joined); got != volumeNames(perDisk) {
			t.Errorf("joined %s, per disk %s", got, volumeNames(perDisk))
		}
		if again := JoinVolumeGroups(joined); byNameOf(again)["A-vol-span-solo"] != m["A-vol-span-solo"] {
			t.Errorf("a second join opened solo again")
		}
	})
	t.Run("no metadata area", func(t *testing.T) {
		// pvcreate --metadatacopies 0 on the added disk: its label
		// lists no metadata area; pv0's metadata says where its extents
		// are.
		a, b := spanPVs(3, 3)
		clear(b[512+32+72 : 512+32+88])
		clear(b[4096:spanPE])
		perDisk, joined := spanDisks(t, map[string][]byte{"A": a, "B": b}, "A", "B")
		if v := byNameOf(perDisk)["B-vol"]; v == nil || v.FSType != fsLVM2 || v.Err != nil {
			t.Fatalf("B alone: %+v", v)
		}
		if got, want := volumeNames(joined), "A-vol A-vol-span-root A-vol-span-solo A-vol-span-thin B-vol B-vol-span-data"; got != want {
			t.Errorf("joined: %s, want %s", got, want)
		}
		m := byNameOf(joined)
		p := make([]byte, 1)
		if v := m["A-vol-span-root"]; v == nil || v.Err != nil {
			t.Errorf("root: %+v", v)
		} else if _, err := v.Reader.ReadAt(p, 4*spanExt); err != nil || p[0] != 'c' {
			t.Errorf("root's extent 4: %q %v", p, err)
		}
		if v := m["B-vol-span-data"]; v == nil || v.Err != nil {
			t.Errorf("data: %+v", v)
		} else if _, err := v.Reader.ReadAt(p, spanExt); err != nil || p[0] != 'b' {
			t.Errorf("data's extent 1: %q %v", p, err)
		}
	})
	// Two copies of one sequence number that differ: the volumes they
	// place alike are read (over both disks or on one), the one they
	// place differently is refused naming the conflict, even when it
	// lies on one disk (before, such a volume was read from its own
	// disk's copy, and one over both disks was refused however alike).
	conflict := func(t *testing.T, old, new, refused string, read ...string) {
		a, b := spanPVs(3, 3)
		other := strings.Replace(fmt.Sprintf(lvmSpanText, 3, spanUUIDA, spanUUIDB), old, new, 1)
		copy(b, makeLVMPV(spanPE, spanPE, spanUUIDB, other, false))
		_, joined := spanDisks(t, map[string][]byte{"A": a, "B": b}, "A", "B")
		m := byNameOf(joined)
		if v := m[refused]; v == nil || v.Reader != nil || !errors.Is(v.Err, ErrFormat) || !strings.Contains(v.Err.Error(), "different metadata of sequence number 3") {
			t.Errorf("%s: %+v", refused, v)
		}
		for _, n := range read {
			if v := m[n]; v == nil || v.Err != nil || v.Reader == nil {
				t.Errorf("%s: %+v", n, v)
			}
		}
	}
	t.Run("conflict over a volume on both disks", func(t *testing.T) {
		conflict(t, `stripes = [ "pv1", 2 ]`, `stripes = [ "pv1", 4 ]`, "A-vol-span-root", "A-vol-span-solo", "B-vol-span-data")
	})
	t.Run("conflict over a volume on one disk", func(t *testing.T) {
		conflict(t, `stripes = [ "pv1", 0 ]`, `stripes = [ "pv1", 5 ]`, "B-vol-span-data", "A-vol-span-root", "A-vol-span-solo")
	})
	t.Run("cloned disk", func(t *testing.T) {
		a, b := spanPVs(3, 3)
		_, joined := spanDisks(t, map[string][]byte{"A": a, "B": b, "C": b}, "A", "B", "C")
		if v := byNameOf(joined)["A-vol-span-root"]; v == nil || !errors.Is(v.Err, ErrUnsupported) || !strings.Contains(v.Err.Error(), "is both B-vol and C-vol") {
			t.Errorf("root: %+v", v)
		}
	})
}

// FuzzLVMJoin gives two physical volumes (of lvmSpanText's UUIDs) one
// metadata text each and joins them: no text may panic, and every volume
// opened reads within its size.
func FuzzLVMJoin(f *testing.F) {
	a := fmt.Sprintf(lvmSpanText, 3, spanUUIDA, spanUUIDB)
	f.Add([]byte(a), []byte(a))
	f.Add([]byte(a), []byte(fmt.Sprintf(lvmSpanText, 4, spanUUIDA, spanUUIDB)))
	f.Add([]byte(a), []byte(strings.Replace(a, `"pv1", 2`, `"pv1", 7`, 1)))
	f.Fuzz(func(t *testing.T, ta, tb []byte) {
		const mda = spanPE - 4096 - 512 // the text fits the ring
		if len(ta) > mda || len(tb) > mda {
			return
		}
		disks := map[string][]byte{
			"A": makeLVMPV(spanPE+8*spanExt, spanPE, spanUUIDA, string(ta), false),
			"B": makeLVMPV(spanPE+8*spanExt, spanPE, spanUUIDB, string(tb), false),
		}
		var vols []*Volume
		for _, name := range []string{"A", "B"} {
			v, err := Volumes(bytes.NewReader(disks[name]), int64(len(disks[name])), name)
			if err != nil {
				t.Fatal(err)
			}
			vols = append(vols, v...)
			if _, err := GroupMembers(bytes.NewReader(disks[name]), int64(len(disks[name]))); err != nil {
				t.Errorf("GroupMembers of %s: %v", name, err)
			}
		}
		seen := map[string]bool{}
		for _, v := range JoinVolumeGroups(vols) {
			if seen[v.Name] {
				t.Errorf("%s listed twice", v.Name)
			}
			seen[v.Name] = true
			// Its runs lie on the disks, and exact ones add up to it.
			runs, exact, ok := v.runs(0)
			var sum int64
			for _, r := range runs {
				if d := disks[r.Disk]; d == nil || r.Off < 0 || r.Len <= 0 || r.Len > int64(len(d))-r.Off {
					t.Errorf("%s: run %+v off its disk", v.Name, r)
				}
				sum += r.Len
			}
			if ok && exact && sum != v.Size {
				t.Errorf("%s: runs of %d bytes, the volume has %d", v.Name, sum, v.Size)
			}
			if v.Reader == nil || v.Size <= 0 {
				continue
			}
			p := make([]byte, 1)
			for _, off := range []int64{0, v.Size - 1} {
				if _, err := v.Reader.ReadAt(p, off); err != nil {
					t.Errorf("%s: reading byte %d of %d: %v", v.Name, off, v.Size, err)
				}
			}
		}
	})
}

// TestLVMManyPVs: a group listing more physical volumes than any real
// one (lvmMaxPVs) is refused, not allocated for.
func TestLVMManyPVs(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "big {\n\tid = \"x\"\n\textent_size = 8\n\tphysical_volumes {\n")
	for i := range lvmMaxPVs + 1 {
		id := spanUUIDA
		if i > 0 {
			id = fmt.Sprintf("p%d", i)
		}
		fmt.Fprintf(&b, "\t\tpv%d { id = \"%s\" pe_start = 128 }\n", i, id)
	}
	b.WriteString("\t}\n}\n")
	vols := volumesOfBytes(t, makeLVMPV(2<<20, 1<<20, spanUUIDA, b.String(), false))
	if len(vols) != 1 || !errors.Is(vols[0].Err, ErrUnsupported) || !strings.Contains(vols[0].Err.Error(), "more than 4096 physical volumes") {
		t.Errorf("%d volumes: %+v", len(vols), vols[0])
	}
}
