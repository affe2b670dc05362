package guest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/exttest"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// mbrEntry is one hand-made MBR/EBR entry, in sectors.
type mbrEntry struct {
	typ          byte
	start, count uint32
}

// putBootRecord writes a boot record with up to four entries at sector lba.
func putBootRecord(disk []byte, lba int, entries ...mbrEntry) {
	s := disk[lba*512 : lba*512+512]
	for i, e := range entries {
		b := s[446+16*i:]
		b[4] = e.typ
		binary.LittleEndian.PutUint32(b[8:], e.start)
		binary.LittleEndian.PutUint32(b[12:], e.count)
	}
	s[510], s[511] = 0x55, 0xaa
}

// gptEntry is one hand-made GPT entry.
type gptEntry struct {
	first, last uint64
	name        string
}

var basicData = []byte{0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44, 0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7}

// makeGPT builds a disk of n sectors with a protective MBR, primary and
// backup GPT (128 entries of 128 bytes) holding the given entries.
func makeGPT(n int, entries ...gptEntry) []byte {
	disk := make([]byte, n*512)
	putBootRecord(disk, 0, mbrEntry{0xee, 1, uint32(n - 1)})
	array := make([]byte, 128*128)
	for i, e := range entries {
		b := array[i*128:]
		copy(b, basicData)
		b[16] = byte(i + 1) // unique partition GUID
		binary.LittleEndian.PutUint64(b[32:], e.first)
		binary.LittleEndian.PutUint64(b[40:], e.last)
		for j, r := range e.name {
			binary.LittleEndian.PutUint16(b[56+2*j:], uint16(r))
		}
	}
	last := uint64(n - 1)
	put := func(hdrLBA, altLBA, arrayLBA uint64) {
		h := disk[hdrLBA*512 : hdrLBA*512+512]
		copy(h, "EFI PART")
		binary.LittleEndian.PutUint32(h[8:], 0x10000)
		binary.LittleEndian.PutUint32(h[12:], 92)
		binary.LittleEndian.PutUint64(h[24:], hdrLBA)
		binary.LittleEndian.PutUint64(h[32:], altLBA)
		binary.LittleEndian.PutUint64(h[40:], 34)
		binary.LittleEndian.PutUint64(h[48:], last-33)
		binary.LittleEndian.PutUint64(h[72:], arrayLBA)
		binary.LittleEndian.PutUint32(h[80:], 128)
		binary.LittleEndian.PutUint32(h[84:], 128)
		binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(array))
		copy(disk[arrayLBA*512:], array)
		binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
	}
	put(1, last, 2)
	put(last, 1, last-32)
	return disk
}

func volumesOfBytes(t testing.TB, disk []byte) []*Volume {
	t.Helper()
	vols, err := Volumes(bytes.NewReader(disk), int64(len(disk)), "h")
	if err != nil {
		t.Fatal(err)
	}
	return vols
}

func TestHandMadeGPT(t *testing.T) {
	disk := makeGPT(200, gptEntry{40, 99, "one"}, gptEntry{100, 159, "two"})
	check := func(vols []*Volume, backup bool) {
		t.Helper()
		if len(vols) != 2 || vols[0].Name != "h-p1" || vols[1].PartName != "two" ||
			vols[1].Start != 100*512 || vols[1].Size != 60*512 || vols[0].TableFromBackup != backup {
			t.Fatalf("got %+v", vols)
		}
		for _, v := range vols {
			if v.FSType != fsUnknown || v.FS != nil || v.Err != nil {
				t.Errorf("%s: %s %v", v.Name, v.FSType, v.Err)
			}
		}
	}
	check(volumesOfBytes(t, disk), false)

	// Damaged primary header: the backup is used.
	bad := bytes.Clone(disk)
	bad[512+30] ^= 1
	check(volumesOfBytes(t, bad), true)

	// Damaged primary array (its CRC fails): the backup is used.
	bad = bytes.Clone(disk)
	bad[1024+33] ^= 1
	check(volumesOfBytes(t, bad), true)

	// Both damaged: one whole-disk volume carrying ErrFormat.
	bad[512*199+30] ^= 1
	vols := volumesOfBytes(t, bad)
	if len(vols) != 1 || vols[0].Table != "gpt" || !errors.Is(vols[0].Err, ErrFormat) {
		t.Fatalf("got %+v", vols[0])
	}
}

func TestHostileTables(t *testing.T) {
	tests := []struct {
		name  string
		disk  func() []byte
		check func(t *testing.T, vols []*Volume)
	}{{
		name: "partition past the end is clipped, one outside is an error",
		disk: func() []byte {
			d := make([]byte, 64<<10)
			putBootRecord(d, 0, mbrEntry{0x83, 64, 1000}, mbrEntry{0x83, 4096, 10})
			return d
		},
		check: func(t *testing.T, vols []*Volume) {
			if len(vols) != 2 || !vols[0].Clipped || vols[0].Size != (128-64)*512 || vols[0].Err != nil {
				t.Errorf("first: %+v", vols[0])
			}
			if !errors.Is(vols[1].Err, ErrOutOfRange) {
				t.Errorf("second: %v", vols[1].Err)
			}
		},
	}, {
		name: "overlapping partitions are both listed",
		disk: func() []byte {
			d := make([]byte, 64<<10)
			putBootRecord(d, 0, mbrEntry{0x83, 10, 50}, mbrEntry{0x07, 30, 50})
			return d
		},
		check: func(t *testing.T, vols []*Volume) {
			if len(vols) != 2 || vols[0].Err != nil || vols[1].Err != nil || vols[1].Start != 30*512 {
				t.Errorf("%+v", vols)
			}
		},
	}, {
		name: "looping EBR chain ends with an error entry",
		disk: func() []byte {
			d := make([]byte, 64<<10)
			putBootRecord(d, 0, mbrEntry{0x05, 10, 100})
			putBootRecord(d, 10, mbrEntry{0x83, 2, 5}, mbrEntry{0x05, 20, 20})
			// The second EBR links to itself (10 + 20 = 30).
			putBootRecord(d, 30, mbrEntry{0x83, 2, 5}, mbrEntry{0x05, 20, 20})
			return d
		},
		check: func(t *testing.T, vols []*Volume) {
			last := vols[len(vols)-1]
			if len(vols) != 4 || vols[1].Number != 5 || vols[2].Number != 6 || !errors.Is(last.Err, ErrFormat) {
				for _, v := range vols {
					t.Errorf("%s %d %v", v.Name, v.Start, v.Err)
				}
			}
		},
	}, {
		name: "truncated GPT disk",
		disk: func() []byte { return makeGPT(200, gptEntry{40, 99, "one"})[:700] },
		check: func(t *testing.T, vols []*Volume) {
			if len(vols) != 1 {
				t.Errorf("%+v", vols)
			}
		},
	}, {
		name: "GPT entry count too large",
		disk: func() []byte {
			d := makeGPT(200, gptEntry{40, 99, "one"})
			binary.LittleEndian.PutUint32(d[512+80:], 1<<30)
			binary.LittleEndian.PutUint32(d[199*512+80:], 1<<30)
			return d
		},
		check: func(t *testing.T, vols []*Volume) {
			if len(vols) != 1 || !errors.Is(vols[0].Err, ErrFormat) {
				t.Errorf("%+v", vols[0])
			}
		},
	}, {
		name: "empty disk",
		disk: func() []byte { return nil },
		check: func(t *testing.T, vols []*Volume) {
			if len(vols) != 1 || vols[0].Name != "h-vol" || vols[0].FSType != fsUnknown || vols[0].Err != nil {
				t.Errorf("%+v", vols)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, volumesOfBytes(t, tt.disk())) })
	}
}

// TestLoopingFAT makes a FAT chain point back at itself: go-diskfs would
// follow it forever, we must refuse the volume.
func TestLoopingFAT(t *testing.T) {
	f, _ := openImage(t, "bare-fat16.img")
	disk := make([]byte, 16<<20)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, int64(len(disk))), disk); err != nil {
		t.Fatal(err)
	}
	p := parseBPB(disk)
	fat := disk[int(p.reserved)*int(p.bytesPerSector):]
	binary.LittleEndian.PutUint16(fat[2*3:], 3) // cluster 3 -> 3
	vols := volumesOfBytes(t, disk)
	if !errors.Is(vols[0].Err, ErrFormat) || vols[0].FS != nil {
		t.Fatalf("%+v", vols[0])
	}
}

// walkAll reads every file and link target of a volume, bounded, to shake
// out panics.
func walkAll(fsys fs.FS) {
	n := 0
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if n++; n > 200 {
			return fs.SkipAll
		}
		if err == nil && d.Type()&fs.ModeSymlink != 0 {
			if rl, ok := fsys.(fs.ReadLinkFS); ok {
				_, _ = rl.ReadLink(p)
			}
			return nil
		}
		if err == nil && !d.IsDir() {
			if f, err := fsys.Open(p); err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(f, 1<<20))
				f.Close()
			}
		}
		return nil
	})
}

func FuzzVolumes(f *testing.F) {
	f.Add(makeGPT(80, gptEntry{40, 60, "a"}, gptEntry{50, 79, "b"}))
	d := make([]byte, 16<<10)
	putBootRecord(d, 0, mbrEntry{0x06, 1, 8}, mbrEntry{0x05, 9, 20})
	putBootRecord(d, 9, mbrEntry{0x83, 1, 4}, mbrEntry{0x05, 6, 6})
	putBootRecord(d, 15, mbrEntry{0x83, 1, 4})
	f.Add(d)
	f.Add(bytes.Repeat([]byte{0x55, 0xaa}, 2048))
	// Heads of the generated images, when gen.sh has run (not required).
	for _, name := range []string{"bare-fat16.img", "cd.iso", "mbr.img"} {
		if b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "testdata", "out", "guest", name)); err == nil {
			f.Add(b[:min(len(b), 96<<10)])
		}
	}
	for _, b := range exttest.FuzzSeeds(f) {
		f.Add(b)
	}
	f.Add(lvmFuzzSeed())
	f.Fuzz(func(t *testing.T, disk []byte) {
		vols, err := Volumes(bytes.NewReader(disk), int64(len(disk)), "z")
		if err != nil {
			return
		}
		// Two physical volumes of one group may lie on one disk.
		vols = JoinVolumeGroups(vols)
		for _, v := range vols {
			if v.FS != nil {
				walkAll(v.FS)
			}
			v.Identity()
		}
		MountPoints(vols)
	})
}

// TestHugeISOExtents gives the path table and the root directory sizes the
// volume cannot hold: go-diskfs would allocate them whole, we refuse first.
func TestHugeISOExtents(t *testing.T) {
	f, size := openImage(t, "cd.iso")
	iso := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), iso); err != nil {
		t.Fatal(err)
	}
	for _, at := range []int{0x8000 + 132, 0x8000 + 156 + 10} {
		bad := bytes.Clone(iso)
		binary.LittleEndian.PutUint32(bad[at:], 0xffffffff)
		vols := volumesOfBytes(t, bad)
		if !errors.Is(vols[0].Err, ErrFormat) || vols[0].FS != nil {
			t.Errorf("size at %#x: %+v", at, vols[0])
		}
	}
}
