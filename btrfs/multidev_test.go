//go:build linux

package btrfs_test

import (
	"bufio"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/btrfs"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// kernelEntry is one line of a testdata/btrfs/multidev.sh list: the
// kernel's view of one file.
type kernelEntry struct {
	path, typ           string
	perm                uint32
	uid, gid            uint32
	size                int64
	nlink               int
	ino                 uint64
	mtime, ctime, atime time.Time
	sum                 string // sha256 of a regular file, "EIO" when the kernel could not read it
}

func readKernelList(t *testing.T, p string) []kernelEntry {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []kernelEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 12 {
			t.Fatalf("%s: line %q", p, sc.Text())
		}
		num := func(s string, base int) uint64 {
			n, err := strconv.ParseUint(s, base, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", p, s, err)
			}
			return n
		}
		tm := func(s string) time.Time {
			sec, frac, _ := strings.Cut(s, ".")
			frac = (frac + "000000000")[:9]
			return time.Unix(int64(num(sec, 10)), int64(num(frac, 10)))
		}
		out = append(out, kernelEntry{path: c[0], typ: c[1], perm: uint32(num(c[2], 8)), uid: uint32(num(c[3], 10)),
			gid: uint32(num(c[4], 10)), size: int64(num(c[5], 10)), nlink: int(num(c[6], 10)), ino: num(c[7], 10),
			mtime: tm(c[8]), ctime: tm(c[9]), atime: tm(c[10]), sum: c[11]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// openMulti opens devices ks of filesystem name from dir.
func openMulti(t *testing.T, dir, name string, ks []int) (*btrfs.Volume, error) {
	t.Helper()
	var devs []btrfs.Device
	for _, k := range ks {
		f, err := os.Open(filepath.Join(dir, name+"-"+strconv.Itoa(k)+".img"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		st, _ := f.Stat()
		devs = append(devs, btrfs.Device{R: f, Size: st.Size()})
	}
	return btrfs.OpenDevices(devs, btrfs.Options{})
}

// TestMultiDeviceOracle opens every filesystem multidev.sh made over
// several devices (single grown onto a second device, RAID0, RAID1,
// RAID10 with RAID1C4 metadata, RAID5, RAID6, RAID1C3), with all devices
// and with those its degraded lists leave out, and compares each file
// with the kernel's read-only mount of the same devices: type,
// permissions, owners, size, links, inode, times and bytes. A file the
// degraded kernel could not read must fail with ErrDevices here, never
// give bytes.
func TestMultiDeviceOracle(t *testing.T) {
	dir := testutil.BtrfsMultiImages(t)
	ndev := map[string]int{}
	b, err := os.ReadFile(filepath.Join(dir, "cases.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		name, n, _ := strings.Cut(line, " ")
		ndev[name], _ = strconv.Atoi(n)
	}
	lists, _ := filepath.Glob(filepath.Join(dir, "*.list"))
	var total, totalEIO, degraded int
	for _, l := range lists {
		base := strings.TrimSuffix(filepath.Base(l), ".list")
		name, without, _ := strings.Cut(base, "-without-")
		if ndev[name] == 0 {
			t.Fatalf("%s: no such case", l)
		}
		t.Run(base, func(t *testing.T) {
			var missing []uint64
			for _, s := range strings.Split(without, ",") {
				if s != "" {
					k, _ := strconv.Atoi(s)
					missing = append(missing, uint64(k))
				}
			}
			var ks []int
			for k := ndev[name]; k >= 1; k-- { // given in reverse: the order must not matter
				if !slices.Contains(missing, uint64(k)) {
					ks = append(ks, k)
				}
			}
			v, err := openMulti(t, dir, name, ks)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Missing(); !slices.Equal(got, missing) {
				t.Errorf("missing devices %v, want %v", got, missing)
			}
			fsys, err := v.Subvolume(v.DefaultSubvolume())
			if err != nil {
				t.Fatal(err)
			}
			files, eio := compareList(t, fsys, readKernelList(t, l))
			t.Logf("%d files equal to the kernel's, %d unreadable on both sides", files, eio)
			total += files
			totalEIO += eio
			if len(missing) > 0 {
				degraded += files
			}
		})
	}
	t.Logf("%d lists: %d files equal to the kernel's (%d of them degraded), %d unreadable on both sides", len(lists), total, degraded, totalEIO)
}

// compareList checks fsys against the kernel's entries and that it holds
// no others; it returns the regular files whose bytes matched and those
// unreadable on both sides.
func compareList(t *testing.T, fsys *btrfs.FS, want []kernelEntry) (files, eio int) {
	t.Helper()
	seen := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." {
			seen++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(want) {
		t.Errorf("%d entries, kernel %d", seen, len(want))
	}
	types := map[string]fs.FileMode{"f": 0, "d": fs.ModeDir, "l": fs.ModeSymlink}
	for _, e := range want {
		fi, err := fsys.Stat(e.path)
		if err != nil {
			t.Errorf("%s: %v", e.path, err)
			continue
		}
		sys := fi.(*btrfs.FileInfo)
		perm, uid, gid := sys.POSIXAttributes()
		if fi.Mode().Type() != types[e.typ] || perm != e.perm || uid != e.uid || gid != e.gid || fi.Size() != e.size ||
			sys.LinkCount() != e.nlink || sys.Ino() != e.ino {
			t.Errorf("%s: %v %o %d:%d size %d nlink %d ino %d; kernel %s %o %d:%d size %d nlink %d ino %d", e.path, fi.Mode().Type(),
				perm, uid, gid, fi.Size(), sys.LinkCount(), sys.Ino(), e.typ, e.perm, e.uid, e.gid, e.size, e.nlink, e.ino)
		}
		if !fi.ModTime().Equal(e.mtime) || !sys.ChangeTime().Equal(e.ctime) || !sys.AccessTime().Equal(e.atime) {
			t.Errorf("%s: times %v %v %v; kernel %v %v %v", e.path, fi.ModTime(), sys.ChangeTime(), sys.AccessTime(), e.mtime, e.ctime, e.atime)
		}
		if e.typ != "f" {
			continue
		}
		sum, err := hashFile(fsys.Open(e.path))
		switch {
		case e.sum == "EIO":
			if !errors.Is(err, btrfs.ErrDevices) {
				t.Errorf("%s: the kernel could not read it; got %v, want ErrDevices", e.path, err)
			}
			eio++
		case err != nil:
			t.Errorf("%s: %v", e.path, err)
		case hexSum(sum) != e.sum:
			t.Errorf("%s: content differs from the kernel's", e.path)
		default:
			files++
		}
	}
	return files, eio
}

func hexSum(s [32]byte) string { return hex.EncodeToString(s[:]) }

// garbled is a device whose bytes past its first MiB (where btrfs puts
// no chunk) are inverted, but for its superblock copy at 64 MiB: a
// present device whose every tree block and data sector fails its
// checksum.
type garbled struct{ r io.ReaderAt }

func (g garbled) ReadAt(p []byte, off int64) (int, error) {
	n, err := g.r.ReadAt(p, off)
	for i := range p[:n] {
		if o := off + int64(i); o >= 1<<20 && (o < 64<<20 || o >= 64<<20+4096) {
			p[i] ^= 0xff
		}
	}
	return n, err
}

// TestMultiDeviceDamaged garbles device 2 of each redundant filesystem:
// every file still reads as the kernel read it, from the other copies
// (RAID1, RAID10, RAID1C3) or rebuilt from parity (RAID5, RAID6) after
// its checksum failed; on RAID0 the damage is an error, never bytes.
func TestMultiDeviceDamaged(t *testing.T) {
	dir := testutil.BtrfsMultiImages(t)
	for _, tc := range []struct {
		name string
		n    int
	}{{"raid1", 2}, {"raid10", 4}, {"raid1c3", 3}, {"raid5", 3}, {"raid6", 4}, {"raid0", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			var devs []btrfs.Device
			for k := 1; k <= tc.n; k++ {
				f, err := os.Open(filepath.Join(dir, tc.name+"-"+strconv.Itoa(k)+".img"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { f.Close() })
				st, _ := f.Stat()
				var r io.ReaderAt = f
				if k == 2 {
					r = garbled{f}
				}
				devs = append(devs, btrfs.Device{R: r, Size: st.Size()})
			}
			v, err := btrfs.OpenDevices(devs, btrfs.Options{})
			if tc.name == "raid0" {
				if err == nil {
					err = walkRead(v)
				}
				if !errors.Is(err, btrfs.ErrChecksum) {
					t.Fatalf("RAID0 with a garbled device: got %v, want ErrChecksum", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fsys, err := v.Subvolume(v.DefaultSubvolume())
			if err != nil {
				t.Fatal(err)
			}
			files, _ := compareList(t, fsys, readKernelList(t, filepath.Join(dir, tc.name+".list")))
			t.Logf("%d files equal to the kernel's with device 2 garbled", files)
		})
	}
}

// walkRead reads every file of the default subvolume, returning the
// first error.
func walkRead(v *btrfs.Volume) error {
	fsys, err := v.Subvolume(v.DefaultSubvolume())
	if err != nil {
		return err
	}
	var first error
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			_, err = hashFile(fsys.Open(p))
		}
		if first == nil {
			first = err
		}
		return nil
	})
	return first
}

// TestOpenDevicesMisuse: devices of two filesystems, a device given
// twice and no device at all are errors.
func TestOpenDevicesMisuse(t *testing.T) {
	dir := testutil.BtrfsMultiImages(t)
	open := func(names ...string) error {
		var devs []btrfs.Device
		for _, n := range names {
			f, err := os.Open(filepath.Join(dir, n+".img"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			st, _ := f.Stat()
			devs = append(devs, btrfs.Device{R: f, Size: st.Size()})
		}
		_, err := btrfs.OpenDevices(devs, btrfs.Options{})
		return err
	}
	for _, set := range [][]string{{"raid1-1", "raid5-2"}, {"raid5-1", "raid5-1", "raid5-2"}, {}} {
		if err := open(set...); !errors.Is(err, btrfs.ErrFormat) {
			t.Errorf("%v: got %v, want ErrFormat", set, err)
		}
	}
	// One device of RAID0 alone opens only if the trees lie on it; what
	// lies on the others fails naming them.
	if err := open("raid1-2"); err != nil {
		t.Errorf("one device of RAID1: %v", err)
	}
}

// TestStaleDevice opens testdata/btrfs/multisuse.sh's stale RAID1, whose
// device 2 missed the commits of a degraded mount, given device 2
// first: the newest superblock of the set (device 1's) is used, the
// stale device's copies fail their checks and the other copies are read,
// and every file equals what the kernel's mount of both devices reads.
func TestStaleDevice(t *testing.T) {
	dir := testutil.BtrfsMultiSuse(t)
	v, err := openMulti(t, dir, "stale", []int{2, 1})
	if err != nil {
		t.Fatal(err)
	}
	devs := v.Devices()
	if len(devs) != 2 || devs[0].Generation != v.Generation() || devs[1].Generation >= v.Generation() || devs[1].Given != 0 {
		t.Errorf("generation %d, devices %+v", v.Generation(), devs)
	}
	fsys, err := v.Subvolume(v.DefaultSubvolume())
	if err != nil {
		t.Fatal(err)
	}
	files, _ := compareList(t, fsys, readKernelList(t, filepath.Join(dir, "stale.list")))
	t.Logf("%d files equal to the kernel's, device 2 at generation %d of %d", files, devs[1].Generation, v.Generation())
}
