package ldm

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPrivheadRoundTrip(t *testing.T) {
	p := privhead{seq: 7, major: 2, minor: 12, disk: "5e1d0a01-7c1e-11e1-9e2b-00155d0a0b01",
		host: "1b77da20-c717-11d0-a5be-00a0c91db73c", group: "5e1d0a00-7c1e-11e1-9e2b-00155d0a0b01",
		name: "SRV-Dg0", dataStart: 63, dataSize: 1000, configStart: 2000, configSize: 2048}
	got, err := parsePrivhead(encodePrivhead(p), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got != p {
		t.Fatalf("round trip: %+v, want %+v", got, p)
	}
	b := encodePrivhead(p)
	copy(b[0x30:], "not-a-guid")
	if _, err := parsePrivhead(b, 0); !errors.Is(err, ErrFormat) {
		t.Fatalf("bad disk GUID: %v", err)
	}
	b = encodePrivhead(p)
	b[0x0d] = 3
	if _, err := parsePrivhead(b, 0); !errors.Is(err, ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("version 3: %v", err)
	}
}

func TestTOCAndVMDBRoundTrip(t *testing.T) {
	toc := [2]tocBitmap{{"config", 17, 1481}, {"log", 1498, 224}}
	got, err := parseTOC(encodeTOC(toc), 0)
	if err != nil || got != toc {
		t.Fatalf("TOCBLOCK round trip: %+v %v", got, err)
	}
	v := vmdb{last: 5924, vblkSize: 128, first: 512, status: 1, major: 4, minor: 10, name: "SRV-Dg0",
		guid: "5e1d0a00-7c1e-11e1-9e2b-00155d0a0b01", committed: 42, pending: 42, nVol: 1, nComp: 2, nPart: 3, nDisk: 4}
	gv, err := parseVMDB(encodeVMDB(v), 0)
	if err != nil || gv != v {
		t.Fatalf("VMDB round trip: %+v %v", gv, err)
	}
	v.status = 2
	if _, err := parseVMDB(encodeVMDB(v), 0); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("uncommitted transaction: %v", err)
	}
	v.status, v.vblkSize = 1, 8
	var fe *FormatError
	if _, err := parseVMDB(encodeVMDB(v), 0x1000); !errors.As(err, &fe) || fe.Off != 0x1008 {
		t.Fatalf("VBLK size 8: %v", err)
	}
}

func TestCursorBounds(t *testing.T) {
	c := &cursor{b: []byte{2, 1, 2, 9, 'a'}, off: 100}
	if n := c.num(4); n != 0x102 || c.err != nil {
		t.Fatalf("num = %#x, %v", n, c.err)
	}
	if s := c.str(); s != "" || c.err == nil {
		t.Fatalf("a string of 9 bytes in 1 read as %q (%v)", s, c.err)
	}
	c = &cursor{b: []byte{9, 1, 2, 3, 4, 5, 6, 7, 8, 9}}
	if c.num(8); c.err == nil {
		t.Fatal("a 9-byte number was read")
	}
}

func TestNotLDM(t *testing.T) {
	for name, disk := range map[string][]byte{
		"empty":      nil,
		"zeros":      make([]byte, 1<<20),
		"mbr, no 42": mbrWith(0x07),
		"gpt, no ldm": func() []byte {
			b := mbrWith(0xee)
			copy(b[512:], "EFI PART")
			b[512+72] = 2
			b[512+80] = 4
			b[512+84] = 128
			return b
		}(),
	} {
		_, err := NewDisk(bytes.NewReader(disk), int64(len(disk)))
		if name == "empty" {
			if err == nil {
				t.Errorf("%s: no error", name)
			}
			continue
		}
		if !errors.Is(err, ErrNotLDM) {
			t.Errorf("%s: %v, want ErrNotLDM", name, err)
		}
	}
}

func mbrWith(typ byte) []byte {
	b := make([]byte, 1<<20)
	b[446+4] = typ
	b[510], b[511] = 0x55, 0xaa
	return b
}

// TestFixture reads the generated disks against their layout
// (testdata/ldm/layout.json) and each volume's bytes against the
// filesystem image mkldm scattered.
func TestFixture(t *testing.T) {
	dir := fixtureDir(t)
	disks := openFixture(t, dir, fixtureDisks...)
	g, err := NewGroup(disks...)
	if err != nil {
		t.Fatal(err)
	}
	if g.GUID != fixtureGroup || g.Name != "CKPTFS-SRV-Dg0" || g.DB.Seq != 42 || len(g.Missing()) != 0 {
		t.Fatalf("group %s %q seq %d missing %v", g.GUID, g.Name, g.DB.Seq, g.Missing())
	}
	want := map[string]VolumeType{"Volume1": Simple, "Volume2": Spanned, "Volume3": Spanned, "Volume4": Striped,
		"Volume5": Mirrored, "Volume6": Simple, "Volume7": RAID5}
	got := map[string]VolumeType{}
	for _, v := range g.Volumes() {
		got[v.Name] = v.Type
		img, err := os.ReadFile(filepath.Join(dir, v.Name+".img"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := g.Open(v)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if r.Size() != int64(len(img)) {
			t.Fatalf("%s: %d bytes, the image %d", v.Name, r.Size(), len(img))
		}
		b, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if sha256.Sum256(b) != sha256.Sum256(img) {
			t.Errorf("%s: bytes differ from the image", v.Name)
		}
		contiguous := v.Name == "Volume1" || v.Name == "Volume5" || v.Name == "Volume6"
		if r.Contiguous() != contiguous {
			t.Errorf("%s: contiguous %v", v.Name, r.Contiguous())
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("volumes %v, want %v", got, want)
	}
	if d := disks[0]; d.Table != "mbr" || d.Name != "Disk1" || d.DataStart != 63*512 || d.ConfigStart != (48<<20)-(1<<20) {
		t.Errorf("disk1: %s %s data at %d, database at %d", d.Table, d.Name, d.DataStart, d.ConfigStart)
	}
	if d := disks[1]; d.Table != "gpt" || d.Name != "Disk2" || d.DataStart != 4096*512 || d.ConfigStart != 34*512 {
		t.Errorf("disk2: %s %s data at %d, database at %d", d.Table, d.Name, d.DataStart, d.ConfigStart)
	}
}

// TestMissingDisk opens the group without Disk2: the volumes with an
// extent on it name it; the mirror reads from its plex on Disk1, the
// RAID-5 volume rebuilds its column on Disk2 from the others and their
// parity.
func TestMissingDisk(t *testing.T) {
	dir := fixtureDir(t)
	g, err := NewGroup(openFixture(t, dir, "disk1.img", "disk3.img")...)
	if err != nil {
		t.Fatal(err)
	}
	if m := g.Missing(); len(m) != 1 || m[0].Name != "Disk2" {
		t.Fatalf("missing %v", m)
	}
	for _, v := range g.Volumes() {
		_, err := g.Open(v)
		switch v.Name {
		case "Volume2", "Volume3", "Volume4":
			if !errors.Is(err, ErrMissingDisk) || !bytes.Contains([]byte(err.Error()), []byte("Disk2 (GUID 5e1d0a02-")) {
				t.Errorf("%s: %v", v.Name, err)
			}
		default:
			if err != nil {
				t.Errorf("%s: %v", v.Name, err)
			}
		}
		if v.Name == "Volume7" && err == nil {
			r, _ := g.Open(v)
			img, _ := os.ReadFile(filepath.Join(dir, "Volume7.img"))
			b := make([]byte, r.Size())
			if _, err := r.ReadAt(b, 0); err != nil || !bytes.Equal(b, img) {
				t.Errorf("Volume7 without Disk2: %v, equal %v", err, bytes.Equal(b, img))
			}
		}
	}
	// Without Disk2 and Disk3 the RAID-5 volume has two columns missing.
	g2, err := NewGroup(openFixture(t, dir, "disk1.img")...)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range g2.Volumes() {
		if v.Name == "Volume7" {
			if _, err := g2.Open(v); !errors.Is(err, ErrMissingDisk) || !strings.Contains(err.Error(), "2 of its RAID-5 columns") {
				t.Errorf("Volume7 with one disk: %v", err)
			}
		}
	}
	// Without Disk1 the mirror reads from Disk3.
	g, err = NewGroup(openFixture(t, dir, "disk3.img")...)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := os.ReadFile(filepath.Join(dir, "Volume5.img"))
	for _, v := range g.Volumes() {
		if v.Name != "Volume5" {
			continue
		}
		r, err := g.Open(v)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, r.Size())
		if _, err := r.ReadAt(b, 0); err != nil || !bytes.Equal(b, img) {
			t.Fatalf("Volume5 from Disk3: %v, equal %v", err, bytes.Equal(b, img))
		}
	}
}

func TestGroupMisuse(t *testing.T) {
	dir := fixtureDir(t)
	a := openFixture(t, dir, "disk1.img", "disk1.img")
	if _, err := NewGroup(a...); !errors.Is(err, ErrUnsupported) {
		t.Errorf("one disk given twice: %v", err)
	}
	if _, err := NewGroup(); err == nil {
		t.Error("a group of no disks")
	}
}

// TestStaleCopy: a disk that was offline while Windows changed the group
// holds an older database; the group follows the newest copy, and says
// which disks are behind it.
func TestStaleCopy(t *testing.T) {
	dir := fixtureDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "disk3.img"))
	if err != nil {
		t.Fatal(err)
	}
	d3, err := NewDisk(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	at := d3.ConfigStart + 17*SectorSize + 0x75
	b[at+7] = 41 // committed sequence 42 -> 41
	old, err := NewDisk(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	disks := openFixture(t, dir, "disk1.img", "disk2.img")
	g, err := NewGroup(old, disks[0], disks[1])
	if err != nil {
		t.Fatal(err)
	}
	if g.DB != disks[0].DB || len(g.Stale()) != 1 || g.Stale()[0] != old {
		t.Errorf("group follows seq %d; stale %v", g.DB.Seq, g.Stale())
	}
	b[at+7] = 43
	newer, err := NewDisk(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if g, err := NewGroup(disks[0], newer); err != nil || g.DB != newer.DB || len(g.Stale()) != 1 {
		t.Errorf("newest copy on the last disk: %v", err)
	}
}

// TestMirrorPrefersActivePlex: a plex its component does not call ACTIVE
// is passed over while an active one can be read.
func TestMirrorPrefersActivePlex(t *testing.T) {
	dir := fixtureDir(t)
	g, err := NewGroup(openFixture(t, dir, fixtureDisks...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range g.Volumes() {
		if v.Type != Mirrored {
			continue
		}
		w := *v
		w.Plexes = append([]Plex(nil), v.Plexes...)
		w.Plexes[0].State = "STALE"
		r, err := g.Open(&w)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := r.Start(); d.Name != "Disk3" {
			t.Errorf("%s read from %s, not from the active plex on Disk3", v.Name, d.Name)
		}
		if r, _ := g.Open(v); r != nil {
			if d, _ := r.Start(); d.Name != "Disk1" {
				t.Errorf("%s read from %s, not from its first plex", v.Name, d.Name)
			}
		}
	}
}

// TestTooManyRecords: a database of more records than Windows' could
// hold is refused before its volumes cost anything.
func TestTooManyRecords(t *testing.T) {
	const size = 32
	config := make([]byte, (maxRecords+1)*size)
	for at := 0; at < len(config); at += size {
		copy(config[at:], "VBLK")
		config[at+15] = 1 // a record of one slot
	}
	if _, err := readSlots(config, 0, 0, len(config), size); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("%d records: %v", maxRecords+1, err)
	}
	if recs, err := readSlots(config[:maxRecords*size], 0, 0, maxRecords*size, size); err != nil || len(recs) != maxRecords {
		t.Fatalf("%d records: %d, %v", maxRecords, len(recs), err)
	}
}
