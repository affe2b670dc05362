package ldm

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckCopies damages, one at a time, each redundant PRIVHEAD and
// TOCBLOCK copy of testdata/ldm's disks (an MBR disk and a GPT disk): the
// database still reads, and CheckCopies names the copy by its byte
// offset. Untouched disks have no problem.
func TestCheckCopies(t *testing.T) {
	dir := fixtureDir(t)
	for _, name := range []string{"disk1.img", "disk2.img"} {
		orig, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDisk(bytes.NewReader(orig), int64(len(orig)))
		if err != nil {
			t.Fatal(err)
		}
		if p := d.CheckCopies(); len(p) != 0 {
			t.Errorf("%s as made: %v", name, p)
		}
		cfg := d.ConfigStart
		type mess struct {
			what string
			off  int64
			b    byte // written at off+pos
			pos  int64
			want string
		}
		cases := []mess{
			{"PRIVHEAD copy in database sector 1856 damaged", cfg + 1856*SectorSize, 'X', 0, "PRIVHEAD copy damaged"},
			{"TOCBLOCK copy in database sector 2045 damaged", cfg + 2045*SectorSize, 'X', 0, "TOCBLOCK copy damaged"},
			{"TOCBLOCK in database sector 2 damaged", cfg + 2*SectorSize, 'X', 0, "TOCBLOCK copy damaged"},
			// The data area's size: a copy that parses but differs.
			{"PRIVHEAD copy in database sector 1856 differing", cfg + 1856*SectorSize, 0x77, 0x122, "differs from the one read"},
		}
		if d.Table == "mbr" {
			cases = append(cases,
				mess{"PRIVHEAD copy in database sector 2047 damaged", cfg + 2047*SectorSize, 'X', 0, "PRIVHEAD copy damaged"},
				mess{"PRIVHEAD in sector 6 damaged", 6 * SectorSize, 'X', 0, "PRIVHEAD copy damaged"})
		}
		for _, c := range cases {
			b := bytes.Clone(orig)
			b[c.off+c.pos] = c.b
			d, err := NewDisk(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Errorf("%s, %s: the database no longer reads: %v", name, c.what, err)
				continue
			}
			p := d.CheckCopies()
			if len(p) != 1 || p[0].Off != c.off || !strings.Contains(p[0].What, c.want) {
				t.Errorf("%s, %s (at byte %d): %+v", name, c.what, c.off, p)
			}
		}
	}
}
