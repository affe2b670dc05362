package ldm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// hostileDisks writes the disks of testdata/ldm/layout.json, changed by
// mess, without filesystems (mkldm -images ""; its "Hostile" lets extents
// lie anywhere), into a temporary folder, and opens them as a group.
func hostileDisks(t *testing.T, mess func(vols map[string]map[string]any)) *Group {
	t.Helper()
	dir := mkldmDisks(t, func(_ map[string]any, vols map[string]map[string]any) { mess(vols) })
	g, err := NewGroup(openFixture(t, dir, fixtureDisks...)...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// mkldmDisks writes the disks of testdata/ldm/layout.json, changed by
// mess (given the layout and its volumes by name), without filesystems,
// into a temporary folder it returns.
func mkldmDisks(t *testing.T, mess func(l map[string]any, vols map[string]map[string]any)) string {
	t.Helper()
	root := testutil.RepoRoot()
	b, err := os.ReadFile(filepath.Join(root, "testdata", "ldm", "layout.json"))
	if err != nil {
		t.Fatal(err)
	}
	var l map[string]any
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	vols := map[string]map[string]any{}
	for _, v := range l["Volumes"].([]any) {
		v := v.(map[string]any)
		vols[v["Name"].(string)] = v
	}
	mess(l, vols)
	l["Hostile"] = true
	dir := t.TempDir()
	layout := filepath.Join(dir, "layout.json")
	if b, err = json.Marshal(l); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(layout, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./tools/mkldm", "-layout", layout, "-images", "", "-out", dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mkldm: %v\n%s", err, out)
	}
	return dir
}

// extent returns extent i of volume v of a layout.
func extent(v map[string]any, i int) map[string]any {
	return v["Extents"].([]any)[i].(map[string]any)
}

// Two volumes whose partitions share bytes of a disk cannot both be
// right: both are refused, naming the other, and the rest of the group
// still reads. Before, each served the shared bytes as its own.
func TestOverlappingPartitions(t *testing.T) {
	cases := []struct {
		name    string
		mess    func(vols map[string]map[string]any)
		refused []string
	}{
		{"two volumes", func(vols map[string]map[string]any) {
			extent(vols["Volume2"], 0)["StartKiB"] = 4096 // into Volume1 (1024+8192 KiB of Disk1)
		}, []string{"Volume1", "Volume2"}},
		{"a volume's own extents", func(vols map[string]map[string]any) {
			extent(vols["Volume3"], 1)["StartKiB"] = 13312 // into its first (12288+4096 KiB of Disk2)
		}, []string{"Volume3"}},
		// The mirror still reads, from its plex on Disk1.
		{"a column of a RAID-5 over a mirror's plex", func(vols map[string]map[string]any) {
			extent(vols["Volume7"], 2)["StartKiB"] = 8192 // Disk3: Volume5's plex is 4096+6144 KiB
		}, []string{"Volume7"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := hostileDisks(t, tc.mess)
			for _, v := range g.Volumes() {
				_, err := g.Open(v)
				refuse := strings.Contains(strings.Join(tc.refused, ","), v.Name)
				if refuse != (err != nil) {
					t.Errorf("%s: refused %v (%v), want %v", v.Name, err != nil, err, refuse)
				}
				if refuse && (!errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "overlaps partition")) {
					t.Errorf("%s: %v, want an ErrFormat naming the overlap", v.Name, err)
				}
			}
		})
	}
}

// A PRIVHEAD whose data area holds the partition table or the PRIVHEAD
// itself is refused: a volume at the start of the data area would serve
// them as its boot sector.
func TestDataAreaOverHeaders(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(seedDisks(t), "disk1.img"))
	if err != nil {
		t.Fatal(err)
	}
	for _, start := range []uint64{0, 1, privheadMBR} {
		b := bytes.Clone(orig)
		binary.BigEndian.PutUint64(b[privheadMBR*SectorSize+0x11b:], start)
		_, err := NewDisk(bytes.NewReader(b), int64(len(b)))
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "holds the partition table or the PRIVHEAD") {
			t.Errorf("data area from sector %d: %v, want an ErrFormat", start, err)
		}
	}
}

// Two disks holding different databases under one sequence number (a
// damaged or forged copy: Windows writes the same records to every disk
// of the group with each commit) cannot both be the group's: the volume
// they describe differently (Volume1, moved in Disk2's copy) is refused,
// naming both disks, whichever disk came first; the others, described
// alike, open. A different database of a lower sequence number is a
// stale disk (Stale), not a conflict.
func TestConflictingDatabases(t *testing.T) {
	same := mkldmDisks(t, func(map[string]any, map[string]map[string]any) {})
	moved := func(seq float64) string {
		return mkldmDisks(t, func(l map[string]any, vols map[string]map[string]any) {
			l["Group"].(map[string]any)["Seq"] = seq
			extent(vols["Volume1"], 0)["StartKiB"] = 36864
		})
	}
	d1, d3 := openFixture(t, same, "disk1.img")[0], openFixture(t, same, "disk3.img")[0]
	d2 := openFixture(t, moved(42), "disk2.img")[0]
	for _, order := range [][]*Disk{{d1, d2, d3}, {d2, d1, d3}} {
		g, err := NewGroup(order...)
		if err != nil {
			t.Fatalf("%s first: %v", order[0].Name, err)
		}
		for _, v := range g.Volumes() {
			_, err := g.Open(v)
			if v.Name == "Volume1" {
				if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "different databases") || !strings.Contains(err.Error(), "Disk2") {
					t.Errorf("%s first: Volume1: %v, want an ErrFormat naming the disks", order[0].Name, err)
				}
			} else if err != nil {
				t.Errorf("%s first: %s: %v", order[0].Name, v.Name, err)
			}
		}
	}
	stale := openFixture(t, moved(41), "disk2.img")[0]
	g, err := NewGroup(d1, stale, d3)
	if err != nil || len(g.Stale()) != 1 || g.DB != d1.DB {
		t.Errorf("a stale disk: %v", err)
	}
}
