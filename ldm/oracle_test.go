//go:build linux

package ldm

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// ldmtool (libldm's command line) is the oracle: every disk group,
// volume, partition and disk it reports must be what this package reads,
// and each volume's bytes, assembled from ldmtool's own figures (its
// partitions' starts and sizes, its disks' data areas, its chunk size),
// must be what Group.Open reads; a RAID-5 volume read without each of its
// disks in turn must read the same. ldmtool's device-mapper volumes
// (ldmtool create) would give the bytes directly, but this machine's
// kernel has no device-mapper; the assembly follows the device-mapper
// tables libldm builds (linear in partition order, striped by chunk,
// raid1 of the partitions).

type ldmVolume struct {
	Name       string   `json:"name"`
	GUID       string   `json:"guid"`
	Type       string   `json:"type"`
	Size       int64    `json:"size"`
	ChunkSize  int64    `json:"chunk-size"`
	Hint       string   `json:"hint"`
	Partitions []string `json:"partitions"`
}

type ldmPartition struct {
	Name  string `json:"name"`
	Start int64  `json:"start"`
	Size  int64  `json:"size"`
	Disk  string `json:"disk"`
}

type ldmDisk struct {
	Name          string `json:"name"`
	GUID          string `json:"guid"`
	Present       bool   `json:"present"`
	Device        string `json:"device"`
	DataStart     int64  `json:"data-start"`
	DataSize      int64  `json:"data-size"`
	MetadataStart int64  `json:"metadata-start"`
	MetadataSize  int64  `json:"metadata-size"`
}

type ldmGroup struct {
	Name    string   `json:"name"`
	GUID    string   `json:"guid"`
	Volumes []string `json:"volumes"`
	Disks   []string `json:"disks"`
}

// ldmtool runs `ldmtool -d DISK... show WHAT GROUP [NAME]` and decodes
// its JSON into v.
func ldmtool(t *testing.T, files []string, v any, args ...string) {
	t.Helper()
	var a []string
	for _, f := range files {
		a = append(a, "-d", f)
	}
	cmd := exec.Command("ldmtool", append(a, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ldmtool %v: %v\n%s", args, err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("ldmtool %v: %v\n%s", args, err, out)
	}
}

// compareWithLdmtool checks the group of the disks in files against
// ldmtool and returns how many figures agreed; a volume's bytes count as
// one figure.
func compareWithLdmtool(t *testing.T, files []string) int {
	t.Helper()
	var disks []*Disk
	for _, f := range files {
		d, err := Open(f)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		disks = append(disks, d)
	}
	g, err := NewGroup(disks...)
	if err != nil {
		t.Fatal(err)
	}
	agreed := 0
	check := func(what string, got, want any) {
		t.Helper()
		if !equalJSON(got, want) {
			t.Errorf("%s: %v, ldmtool says %v", what, got, want)
			return
		}
		agreed++
	}
	var og ldmGroup
	ldmtool(t, files, &og, "show", "diskgroup", g.GUID)
	var vnames, dnames []string
	for _, v := range g.Volumes() {
		vnames = append(vnames, v.Name)
	}
	for _, d := range g.DB.Disks {
		dnames = append(dnames, d.Name)
	}
	check("group name", g.Name, og.Name)
	check("volumes", sorted(vnames), sorted(og.Volumes))
	check("disks", sorted(dnames), sorted(og.Disks))

	byName := map[string]*Disk{}
	for _, rec := range g.DB.Disks {
		var od ldmDisk
		ldmtool(t, files, &od, "show", "disk", g.GUID, rec.Name)
		d := g.Disk(rec.GUID)
		check(rec.Name+" GUID", rec.GUID, od.GUID)
		check(rec.Name+" present", d != nil, od.Present)
		if d == nil || !od.Present {
			continue
		}
		byName[rec.Name] = d
		check(rec.Name+" data area", [2]int64{d.DataStart / SectorSize, d.DataSize / SectorSize}, [2]int64{od.DataStart, od.DataSize})
		check(rec.Name+" database", [2]int64{d.ConfigStart / SectorSize, d.ConfigSize / SectorSize}, [2]int64{od.MetadataStart, od.MetadataSize})
	}
	for _, v := range g.Volumes() {
		var ov ldmVolume
		ldmtool(t, files, &ov, "show", "volume", g.GUID, v.Name)
		check(v.Name+" GUID", v.GUID, ov.GUID)
		check(v.Name+" type", v.Type.String(), ov.Type)
		check(v.Name+" size", v.Size/SectorSize, ov.Size)
		check(v.Name+" chunk", v.ChunkSize/SectorSize, ov.ChunkSize)
		check(v.Name+" hint", v.DriveHint, ov.Hint)
		var parts []string
		for _, p := range v.Plexes {
			for _, e := range p.Extents {
				parts = append(parts, e.Name)
			}
		}
		check(v.Name+" partitions", parts, ov.Partitions)
		theirs := map[string]ldmPartition{}
		for _, p := range v.Plexes {
			for _, e := range p.Extents {
				var op ldmPartition
				ldmtool(t, files, &op, "show", "partition", g.GUID, e.Name)
				check(e.Name, [3]any{e.Start / SectorSize, e.Size / SectorSize, e.Disk}, [3]any{op.Start, op.Size, op.Disk})
				theirs[e.Name] = op
			}
		}
		want, ok := assemble(t, ov, theirs, byName)
		r, err := g.Open(v)
		if !ok {
			// ldmtool's figures need a disk not given.
			if v.Type == RAID5 && err == nil {
				continue // rebuilt from the parity: see checkDegraded
			}
			if err == nil {
				t.Errorf("%s: read, though ldmtool cannot assemble it", v.Name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", v.Name, err)
			continue
		}
		got, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		check(v.Name+" bytes (sha256)", sha256.Sum256(got), sha256.Sum256(want))
		if v.Type == RAID5 {
			agreed += checkDegraded(t, g, v, got)
		}
	}
	return agreed
}

// checkDegraded reads RAID-5 volume v (whose bytes are want) without
// each of its disks in turn: the column rebuilt from the others and the
// parity Windows wrote must give the same bytes.
func checkDegraded(t *testing.T, g *Group, v *Volume, want []byte) int {
	t.Helper()
	agreed := 0
	for _, drop := range v.Plexes[0].Extents {
		var rest []*Disk
		for _, d := range g.order {
			if d.GUID != drop.DiskGUID {
				rest = append(rest, d)
			}
		}
		h, err := NewGroup(rest...)
		if err != nil {
			t.Fatal(err)
		}
		var hv *Volume
		for _, x := range h.Volumes() {
			if x.Name == v.Name {
				hv = x
			}
		}
		r, err := h.Open(hv)
		if err != nil {
			t.Errorf("%s without %s: %v", v.Name, drop.Disk, err)
			continue
		}
		got, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s without %s: %v, the same bytes: %v", v.Name, drop.Disk, err, bytes.Equal(got, want))
			continue
		}
		agreed++
	}
	return agreed
}

// assemble builds a volume's bytes from ldmtool's figures alone, as
// libldm's device-mapper tables would; ok is false when a disk is
// missing or the volume is RAID-5.
func assemble(t *testing.T, v ldmVolume, parts map[string]ldmPartition, disks map[string]*Disk) ([]byte, bool) {
	read := func(p ldmPartition, off, n int64) []byte {
		d := disks[p.Disk]
		b := make([]byte, n)
		f, err := os.Open(deviceOf(d))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.ReadAt(b, (d.DataStart/SectorSize+p.Start)*SectorSize+off); err != nil {
			t.Fatal(err)
		}
		return b
	}
	var ps []ldmPartition
	for _, n := range v.Partitions {
		p := parts[n]
		if disks[p.Disk] == nil && v.Type != "mirrored" {
			return nil, false
		}
		ps = append(ps, p)
	}
	switch v.Type {
	case "simple", "spanned":
		var out []byte
		for _, p := range ps {
			out = append(out, read(p, 0, p.Size*SectorSize)...)
		}
		return out, true
	case "mirrored":
		for _, p := range ps {
			if disks[p.Disk] != nil {
				return read(p, 0, v.Size*SectorSize), true
			}
		}
	case "striped":
		chunk := v.ChunkSize * SectorSize
		n := int64(len(ps))
		out := make([]byte, 0, v.Size*SectorSize)
		for c := int64(0); c*chunk < v.Size*SectorSize; c++ {
			out = append(out, read(ps[c%n], (c/n)*chunk, chunk)...)
		}
		return out, true
	case "RAID5":
		// raid5_ls, the layout libldm asks of the device-mapper: row r's
		// parity on column n-1-r%n, its data from the next column on.
		chunk := v.ChunkSize * SectorSize
		n := int64(len(ps))
		out := make([]byte, 0, v.Size*SectorSize)
		for c := int64(0); c*chunk < v.Size*SectorSize; c++ {
			row, k := c/(n-1), c%(n-1)
			col := (n - 1 - row%n + 1 + k) % n
			out = append(out, read(ps[col], row*chunk, chunk)...)
		}
		return out, true
	}
	return nil, false
}

// deviceOf is the file a Disk was opened from (Open keeps it).
func deviceOf(d *Disk) string { return d.closer.(*os.File).Name() }

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestLdmtool(t *testing.T) {
	testutil.NeedTool(t, "ldmtool")
	dir := fixtureDir(t)
	var files []string
	for _, n := range fixtureDisks {
		files = append(files, filepath.Join(dir, n))
	}
	n := compareWithLdmtool(t, files)
	t.Logf("all three disks: %d figures agree with ldmtool", n)
	// Disk2 missing: its volumes cannot be read by either.
	n = compareWithLdmtool(t, []string{files[0], files[2]})
	t.Logf("without Disk2: %d figures agree with ldmtool", n)
}

// TestLdmtoolWindows compares with ldmtool over disks Windows itself
// made: libldm's test images (Windows Server 2003 R2 and 2008 R2,
// test/data/ldm-data.tar.xz in github.com/mdbooth/libldm, GPL: not in
// this repository). Set CKPTFS_LDM_WINDOWS to the folder they were
// unpacked in.
func TestLdmtoolWindows(t *testing.T) {
	dir := os.Getenv("CKPTFS_LDM_WINDOWS")
	if dir == "" {
		t.Skip("CKPTFS_LDM_WINDOWS is not set (libldm's ldm-data.tar.xz, unpacked)")
	}
	testutil.NeedTool(t, "ldmtool")
	for _, set := range []string{"ldm-2003r2-*.img", "ldm-2008r2-*.img"} {
		files, _ := filepath.Glob(filepath.Join(dir, set))
		if len(files) == 0 {
			t.Fatalf("no %s in %s", set, dir)
		}
		n := compareWithLdmtool(t, files)
		t.Logf("%s (%d disks): %d figures agree with ldmtool", strings.TrimSuffix(set, "-*.img"), len(files), n)
	}
}
