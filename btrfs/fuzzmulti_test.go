package btrfs

import (
	"bytes"
	"encoding/binary"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// fuzzMultiDevice is the size of each device of FuzzDevices, that of
// testdata/btrfs/multidev.sh's devices.
const fuzzMultiDevice = 128 << 20

// parseMulti turns a fuzz input into up to four devices: a byte giving
// their count, then records of a device byte, a 32-bit block number and
// one 4 KiB block, over zeros.
func parseMulti(data []byte) []Device {
	if len(data) == 0 {
		return nil
	}
	n := int(data[0])%4 + 1
	devs := make([]sparseDevice, n)
	for i := range devs {
		devs[i] = sparseDevice{}
	}
	for data = data[1:]; len(data) >= 5+fuzzBlock; data = data[5+fuzzBlock:] {
		blk := int64(binary.LittleEndian.Uint32(data[1:])) % (fuzzMultiDevice / fuzzBlock)
		devs[int(data[0])%n][blk] = data[5 : 5+fuzzBlock]
	}
	out := make([]Device, n)
	for i, d := range devs {
		out[i] = Device{R: d, Size: fuzzMultiDevice}
	}
	return out
}

// recorder notes which blocks of a device are read.
type recorder struct {
	r    io.ReaderAt
	seen map[int64]bool
}

func (r recorder) ReadAt(p []byte, off int64) (int, error) {
	for b := off / fuzzBlock; b*fuzzBlock < off+int64(len(p)); b++ {
		r.seen[b] = true
	}
	return r.r.ReadAt(p, off)
}

// multiSeed encodes the blocks of a filesystem's devices that opening it
// and listing its default subvolume read (superblocks, the tree blocks of
// one copy): its trees without its file data, a seed of some 100 KiB.
func multiSeed(t testing.TB, dir, name string, n int) []byte {
	var devs []Device
	var recs []recorder
	var imgs [][]byte
	for k := 1; k <= n; k++ {
		b, err := os.ReadFile(filepath.Join(dir, name+"-"+strconv.Itoa(k)+".img"))
		if err != nil {
			t.Fatal(err)
		}
		rec := recorder{bytes.NewReader(b), map[int64]bool{}}
		imgs, recs = append(imgs, b), append(recs, rec)
		devs = append(devs, Device{R: rec, Size: int64(len(b))})
	}
	v, err := OpenDevices(devs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := v.Subvolume(v.DefaultSubvolume())
	if err != nil {
		t.Fatal(err)
	}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			_, err = d.Info()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := []byte{byte(n - 1)}
	for dev, rec := range recs {
		blks := slices.Sorted(maps.Keys(rec.seen))
		for _, blk := range blks {
			out = append(out, byte(dev))
			out = binary.LittleEndian.AppendUint32(out, uint32(blk))
			out = append(out, imgs[dev][blk*fuzzBlock:][:fuzzBlock]...)
		}
	}
	return out
}

// FuzzDevices opens mutated filesystems over several devices (RAID1 and
// RAID6 trees as seeds) and reads everything in them: hostile device
// items, chunk stripes and parity may give errors, never a panic, a hang
// or an unbounded allocation.
func FuzzDevices(f *testing.F) {
	dir := testutil.BtrfsMultiImages(f)
	f.Add(multiSeed(f, dir, "raid1", 2))
	f.Add(multiSeed(f, dir, "raid6", 4))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := OpenDevices(parseMulti(data), Options{})
		if err != nil {
			return
		}
		_ = v.Devices()
		fsys, err := v.Subvolume(v.DefaultSubvolume())
		if err != nil {
			return
		}
		walkSome(fsys)
	})
}
