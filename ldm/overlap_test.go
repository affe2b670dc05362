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
	mess(vols)
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
	g, err := NewGroup(openFixture(t, dir, fixtureDisks...)...)
	if err != nil {
		t.Fatal(err)
	}
	return g
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
