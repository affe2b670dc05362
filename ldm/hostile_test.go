//go:build linux

package ldm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// A damaged database must be refused with an error naming the fault,
// where ldmtool refuses it too; where the two differ, on purpose, the
// table says why.

// slotsOf returns the offsets (in the disk image b) of the used VBLK
// slots of the database of disk d.
func slotsOf(b []byte, d *Disk) []int {
	vmdbAt := int(d.ConfigStart) + 17*SectorSize
	var out []int
	for at := vmdbAt + SectorSize; at+128 <= int(d.ConfigStart+d.ConfigSize); at += 128 {
		if string(b[at:at+4]) != "VBLK" {
			break
		}
		if binary.BigEndian.Uint16(b[at+14:]) != 0 {
			out = append(out, at)
		}
	}
	return out
}

// recordOf returns the offset of the first single-slot record of type
// typ, and a cursor over its data.
func recordOf(b []byte, d *Disk, typ byte) (int, *cursor) {
	for _, at := range slotsOf(b, d) {
		if binary.BigEndian.Uint16(b[at+14:]) == 1 && b[at+19] == typ {
			size := int(binary.BigEndian.Uint32(b[at+20:]))
			return at, &cursor{b: b[at+24 : at+24+size]}
		}
	}
	return -1, nil
}

// skipNum moves c past a number and returns the offset of its last byte
// (in c.b).
func skipNum(c *cursor) int {
	c.num(8)
	return c.pos - 1
}

func TestHostileDatabases(t *testing.T) {
	testutil.NeedTool(t, "ldmtool")
	dir := fixtureDir(t)
	src := filepath.Join(dir, "disk1.img")
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	d0 := openFixture(t, dir, "disk1.img")[0]
	vmdbAt := int(d0.ConfigStart) + 17*SectorSize
	cases := []struct {
		name string
		mess func(b []byte)
		// ours and theirs: whether this package and ldmtool refuse it
		ours, theirs bool
		want         error
		why          string
	}{
		{name: "VMDB counts one volume too many", ours: true, theirs: true, want: ErrFormat,
			mess: func(b []byte) { b[vmdbAt+0x85+3]++ }},
		{name: "second slot of a record lost", ours: true, theirs: true, want: ErrFormat,
			mess: func(b []byte) {
				for _, at := range slotsOf(b, d0) {
					if binary.BigEndian.Uint16(b[at+12:]) == 1 {
						binary.BigEndian.PutUint16(b[at+14:], 0)
						return
					}
				}
				t.Fatal("no record spans two slots")
			}},
		{name: "second slot of a record twice", ours: true, theirs: true, want: ErrFormat,
			mess: func(b []byte) {
				slots := slotsOf(b, d0)
				last := slots[len(slots)-1]
				for _, at := range slots {
					if binary.BigEndian.Uint16(b[at+12:]) == 1 {
						copy(b[last+128+8:last+256], b[at+8:at+128])
						return
					}
				}
			}},
		{name: "slot index past the record's slots", ours: true, theirs: true, want: ErrFormat,
			mess: func(b []byte) {
				for _, at := range slotsOf(b, d0) {
					if binary.BigEndian.Uint16(b[at+12:]) == 1 {
						binary.BigEndian.PutUint16(b[at+12:], 5)
						return
					}
				}
			}},
		{name: "partition on a disk the database does not list", ours: true, theirs: true, want: ErrFormat,
			mess: func(b []byte) {
				at, c := recordOf(b, d0, 0x33)
				c.num(4)
				c.str()
				c.take(28)
				skipNum(c)
				skipNum(c)
				b[at+24+skipNum(c)] = 0x7f
			}},
		{name: "component of a volume the database does not list", ours: true, theirs: true, want: ErrFormat,
			mess: func(b []byte) {
				at, c := recordOf(b, d0, 0x32)
				c.num(4)
				c.str()
				c.str()
				c.take(5)
				skipNum(c)
				c.take(16)
				b[at+24+skipNum(c)] = 0x7f
			}},
		{name: "component with a partition too many", ours: true, theirs: true, want: ErrFormat,
			mess: func(b []byte) {
				at, c := recordOf(b, d0, 0x32)
				c.num(4)
				c.str()
				c.str()
				c.take(5)
				b[at+24+skipNum(c)]++
			}},
		{name: "record of an unknown type", ours: true, theirs: true, want: ErrUnsupported,
			mess: func(b []byte) {
				at, _ := recordOf(b, d0, 0x33)
				b[at+19] = 0x37
			}},
		{name: "record longer than its slot", ours: true, theirs: false, want: ErrFormat,
			why: "libldm reads a record by its fields, ignoring the size its header gives",
			mess: func(b []byte) {
				at, _ := recordOf(b, d0, 0x33)
				binary.BigEndian.PutUint32(b[at+20:], 200)
			}},
		{name: "VMDB with an uncommitted transaction", ours: true, theirs: false, want: ErrUnsupported,
			why:  "libldm ignores the update status; the records may then mix two states (the kernel's reader refuses it too)",
			mess: func(b []byte) { b[vmdbAt+0x11] = 2 }},
		{name: "first TOCBLOCK damaged", ours: false, theirs: true,
			why:  "libldm reads only the TOCBLOCK in sector 2; Windows keeps a copy in sector 2045, which this package (and the kernel's reader) falls back on",
			mess: func(b []byte) { b[int(d0.ConfigStart)+2*SectorSize] = 'X' }},
		{name: "first PRIVHEAD damaged", ours: false, theirs: true,
			why:  "libldm reads only the PRIVHEAD in sector 6; the copy in the last sector of the disk stands in for it here",
			mess: func(b []byte) { b[6*SectorSize] = 'X' }},
		{name: "no TOCBLOCK at all", ours: true, theirs: true, want: ErrFormat,
			mess: func(b []byte) {
				for _, s := range []int{1, 2, 2045, 2046} {
					b[int(d0.ConfigStart)+s*SectorSize] = 'X'
				}
			}},
		{name: "database past the end of the disk", ours: true, theirs: true, want: ErrFormat,
			mess: func(b []byte) { binary.BigEndian.PutUint64(b[6*SectorSize+0x12b:], uint64(len(b)/SectorSize)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(orig)
			tc.mess(b)
			f := filepath.Join(t.TempDir(), "disk1.img")
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := NewDisk(bytes.NewReader(b), int64(len(b)))
			if tc.ours != (err != nil) {
				t.Errorf("refused by this package: %v (%v), want %v", err != nil, err, tc.ours)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want one wrapping %v", err, tc.want)
			}
			out, _ := exec.Command("ldmtool", "scan", f).CombinedOutput()
			refused := strings.Contains(string(out), "Error scanning")
			if refused != tc.theirs {
				t.Errorf("refused by ldmtool: %v, want %v: %s", refused, tc.theirs, out)
			}
			if err != nil {
				t.Logf("ours: %v", err)
			}
			if refused {
				t.Logf("ldmtool: %s", strings.TrimSpace(string(out[strings.Index(string(out), "Error scanning"):])))
			}
		})
	}
}
