package ldm

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// FuzzDatabase feeds a PRIVHEAD sector and a database to NewDisk, then
// opens and reads every volume it finds. The input is placed on a
// virtual 64 MiB disk: an MBR of one 0x42 partition, the PRIVHEAD in
// sector 6, the database from sector 2048 on, zeros elsewhere. Seeds are
// the databases tools/mkldm writes for testdata/ldm/layout.json, each
// disk's PRIVHEAD rewritten to that placement.
func FuzzDatabase(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		disk := fuzzDisk(in)
		d, err := NewDisk(disk, disk.size)
		if err != nil {
			return
		}
		g, err := NewGroup(d)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 4096)
		for _, v := range g.Volumes() {
			r, err := g.Open(v)
			if err != nil {
				continue
			}
			for _, off := range []int64{0, r.Size() / 2, r.Size() - 1} {
				if _, err := r.ReadAt(b, off); err != nil && err != io.EOF {
					t.Fatalf("%s at %d: %v", v.Name, off, err)
				}
			}
		}
	})
}

const (
	fuzzDiskSize   = 64 << 20
	fuzzConfigAt   = 2048 // sectors
	fuzzDataAt     = 4096
	fuzzConfigSize = 2048
)

// zeroDisk is a disk of zeros but for the bytes it holds.
type zeroDisk struct {
	parts map[int64][]byte // by offset
	size  int64
}

func (z *zeroDisk) ReadAt(p []byte, off int64) (int, error) {
	if off >= z.size {
		return 0, io.EOF
	}
	n := len(p)
	if int64(n) > z.size-off {
		n = int(z.size - off)
	}
	clear(p[:n])
	for at, b := range z.parts {
		lo, hi := max(at, off), min(at+int64(len(b)), off+int64(n))
		if lo < hi {
			copy(p[lo-off:hi-off], b[lo-at:hi-at])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func fuzzDisk(in []byte) *zeroDisk {
	mbr := make([]byte, SectorSize)
	mbr[446+4] = mbrTypeLDM
	binary.LittleEndian.PutUint32(mbr[446+8:], 63)
	mbr[510], mbr[511] = 0x55, 0xaa
	z := &zeroDisk{parts: map[int64][]byte{0: mbr}, size: fuzzDiskSize}
	ph, db := in[:min(len(in), SectorSize)], in[min(len(in), SectorSize):]
	z.parts[privheadMBR*SectorSize] = ph
	z.parts[fuzzConfigAt*SectorSize] = db[:min(len(db), fuzzConfigSize*SectorSize)]
	return z
}

// seedDisks returns the folder of the disks tools/mkldm writes for
// testdata/ldm/layout.json without filesystems (only the databases
// matter), built once under the fixture lock: a fuzz worker that
// compiled mkldm would start late.
func seedDisks(tb testing.TB) string {
	tb.Helper()
	dir := testutil.OutDir("ldmseeds")
	if _, err := os.Stat(filepath.Join(dir, "disk1.img")); err == nil {
		return dir
	}
	unlock := testutil.LockFixtures(tb)
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, "disk1.img")); err == nil {
		return dir
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "ldmseeds.")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	root := testutil.RepoRoot()
	cmd := exec.Command("go", "run", "./tools/mkldm", "-layout", filepath.Join(root, "testdata", "ldm", "layout.json"), "-images", "", "-out", tmp)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("mkldm: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// fuzzSeeds turns each of seedDisks' disks into a seed.
func fuzzSeeds(tb testing.TB) [][]byte {
	dir := seedDisks(tb)
	var seeds [][]byte
	for _, n := range fixtureDisks {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			tb.Fatal(err)
		}
		d, err := NewDisk(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			tb.Fatalf("%s: %v", n, err)
		}
		seeds = append(seeds, fuzzSeed(b, d))
	}
	return seeds
}

// fuzzSeed is disk b's PRIVHEAD, placed as fuzzDisk places it, and its
// database up to its last used slot.
func fuzzSeed(b []byte, d *Disk) []byte {
	ph, _ := parsePrivhead(b[d.PrivheadOffset:d.PrivheadOffset+SectorSize], 0)
	ph.configStart, ph.configSize = fuzzConfigAt, fuzzConfigSize
	ph.dataStart, ph.dataSize = fuzzDataAt, fuzzDiskSize/SectorSize-fuzzDataAt
	cfg := b[d.ConfigStart : d.ConfigStart+d.ConfigSize]
	end := 0
	for at := 18 * SectorSize; at+128 <= len(cfg) && string(cfg[at:at+4]) == "VBLK"; at += 128 {
		if binary.BigEndian.Uint16(cfg[at+14:]) != 0 {
			end = at + 128
		}
	}
	// A few free slots past the last used one, as Windows leaves them.
	end = min(len(cfg), end+4*128)
	return append(encodePrivhead(ph), cfg[:end]...)
}

// TestFuzzSeeds checks that a seed holds the group: a fuzz run that
// starts from unreadable seeds explores little.
func TestFuzzSeeds(t *testing.T) {
	z := fuzzDisk(fuzzSeeds(t)[0])
	d, err := NewDisk(z, z.size)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.DB.Volumes) != 7 || d.Name != "Disk1" {
		t.Fatalf("seed: %d volumes, disk %q", len(d.DB.Volumes), d.Name)
	}
}

// BenchmarkNewDisk reads a disk's database and opens its volumes (the
// fuzz target's work).
func BenchmarkNewDisk(b *testing.B) {
	in := fuzzSeeds(b)[0]
	buf := make([]byte, 4096)
	for b.Loop() {
		disk := fuzzDisk(in)
		d, err := NewDisk(disk, disk.size)
		if err != nil {
			b.Fatal(err)
		}
		g, _ := NewGroup(d)
		for _, v := range g.Volumes() {
			if r, err := g.Open(v); err == nil {
				r.ReadAt(buf, r.Size()-1)
			}
		}
	}
}
