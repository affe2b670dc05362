//go:build linux

package vss_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/ntfs"
	"github.com/ckptfs/ckptfs/vss"
)

// The two real samples (see ../shared/samples/SOURCES.md): a Windows 10
// disk whose partition 2 keeps its copies' data on partition 1, and a
// Windows Server 2003 volume with six copies.
type sample struct {
	archive, image string
	start, sectors int64 // the shadowed volume, in 512-byte sectors
}

var (
	win2003 = sample{"windows/vss_2003.tgz", "vss_2003.raw", 63, 268430022}
	win10   = sample{"windows/vss_3_volstor.tar.gz", "vss_3_volstor.raw", 4196352, 6285312}
	// win10 partition 1 holds the store data of partition 2.
	win10Storage = sample{"windows/vss_3_volstor.tar.gz", "vss_3_volstor.raw", 2048, 4194304}
)

// unpack extracts the sample's sparse disk (5 GiB and 128 GiB, a few
// MiB of data) into a temporary folder, keeping its holes.
func unpack(t testing.TB, s sample) string {
	t.Helper()
	return testutil.UntarSample(t, s.archive, s.image, false)
}

// volume opens the sample's shadowed volume as a window of the disk.
func volume(t *testing.T, img string, s sample) *io.SectionReader {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return io.NewSectionReader(f, s.start*512, s.sectors*512)
}

type infoStore struct {
	id      string
	created time.Time
}

// vshadowinfo lists the stores libvshadow finds, in its order.
func vshadowinfo(t *testing.T, img string, s sample) []infoStore {
	t.Helper()
	testutil.NeedTool(t, "vshadowinfo")
	out := testutil.Run(t, "vshadowinfo", "-o", fmt.Sprint(s.start*512), img)
	var stores []infoStore
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(k) {
		case "Identifier":
			stores = append(stores, infoStore{id: val})
		case "Creation time":
			tm, err := time.Parse("Jan 02, 2006 15:04:05.000000000 MST", val)
			if err != nil {
				t.Fatalf("vshadowinfo time %q: %v", val, err)
			}
			stores[len(stores)-1].created = tm
		}
	}
	return stores
}

// vshadowmount shows each store's volume as MNT/vssN for the test's
// duration.
func vshadowmount(t *testing.T, img string, s sample) string {
	t.Helper()
	testutil.NeedFUSE(t)
	testutil.NeedTool(t, "vshadowmount")
	mnt := t.TempDir()
	testutil.Run(t, "vshadowmount", "-o", fmt.Sprint(s.start*512), img, mnt)
	t.Cleanup(func() { unmount(t, mnt) })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(filepath.Join(mnt, "vss1")); err == nil {
			return mnt
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("vshadowmount %s: vss1 never appeared", img)
	return ""
}

func unmount(t *testing.T, dir string) {
	for i := 0; i < 50; i++ {
		if exec.Command("fusermount3", "-u", dir).Run() == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("could not unmount %s", dir)
}

func checkStores(t *testing.T, v *vss.Volume, want []infoStore) {
	t.Helper()
	got := v.Stores()
	if len(got) != len(want) {
		t.Fatalf("%d stores, vshadowinfo lists %d", len(got), len(want))
	}
	for i, s := range got {
		if s.Index != i+1 || s.ID.String() != want[i].id || !s.Created.Equal(want[i].created) {
			t.Errorf("store %d: %s %s, vshadowinfo: %s %s", s.Index, s.ID, s.Created.Format(time.RFC3339Nano),
				want[i].id, want[i].created.Format(time.RFC3339Nano))
		}
	}
}

func TestWindows2003(t *testing.T) {
	img := unpack(t, win2003)
	live := volume(t, img, win2003)
	v, err := vss.NewVolume(live, live.Size())
	if err != nil {
		t.Fatal(err)
	}
	checkStores(t, v, vshadowinfo(t, img, win2003))
	var offline []int
	for _, s := range v.Stores() {
		if s.Offline() {
			offline = append(offline, s.Index)
		}
	}
	if fmt.Sprint(offline) != "[4 6]" {
		t.Errorf("offline stores %v, want [4 6] (catalog flags 0x140)", offline)
	}
	mnt := vshadowmount(t, img, win2003)
	data := dataRanges(t, img, win2003)
	for _, s := range v.Stores() {
		r, err := s.Open()
		if err != nil {
			t.Fatal(err)
		}
		theirs := filepath.Join(mnt, fmt.Sprintf("vss%d", s.Index))
		compareVolume(t, r, theirs, data)
		compareFiles(t, r, theirs)
	}
}

// dataRanges lists the parts of the shadowed volume the sparse image
// holds data for (SEEK_DATA/SEEK_HOLE), in volume offsets. Elsewhere the
// live volume reads as zeros.
func dataRanges(t *testing.T, img string, s sample) []vss.Extent {
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const seekData, seekHole = 3, 4
	start, end := s.start*512, (s.start+s.sectors)*512
	var out []vss.Extent
	for off := start; off < end; {
		d, err := syscall.Seek(int(f.Fd()), off, seekData)
		if err != nil || d >= end {
			break
		}
		h, err := syscall.Seek(int(f.Fd()), d, seekHole)
		if err != nil {
			t.Fatal(err)
		}
		h = min(h, end)
		out = append(out, vss.Extent{Off: d - start, Len: h - d, Source: vss.Live})
		off = h
	}
	return out
}

// compareVolume checks the store's volume against libvshadow's over
// every range where either could hold anything but the live volume's
// zeros: the ranges the stores hold or blank, the image's data, and 256
// random blocks elsewhere.
func compareVolume(t *testing.T, r *vss.Reader, theirs string, data []vss.Extent) {
	t.Helper()
	g, err := os.Open(theirs)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ranges := append([]vss.Extent(nil), data...)
	for _, e := range r.Extents(0, r.Size()) {
		if e.Source != vss.Live {
			ranges = append(ranges, e)
		}
	}
	rnd := rand.New(rand.NewPCG(7, uint64(r.Store().Index)))
	for i := 0; i < 256; i++ {
		ranges = append(ranges, vss.Extent{Off: rnd.Int64N(r.Size()/vss.BlockSize) * vss.BlockSize, Len: vss.BlockSize})
	}
	a, b := sha256.New(), sha256.New()
	var n int64
	for _, e := range ranges {
		if e.Source == vss.Zero && e.Len > 1<<20 {
			// libvshadow blanks them too; reading gigabytes of zeros
			// through FUSE proves little: check both ends.
			ranges = append(ranges, vss.Extent{Off: e.Off, Len: vss.BlockSize},
				vss.Extent{Off: e.Off + e.Len - vss.BlockSize, Len: vss.BlockSize})
			continue
		}
		if _, err := io.Copy(a, io.NewSectionReader(r, e.Off, e.Len)); err != nil {
			t.Fatalf("store %d at 0x%x: %v", r.Store().Index, e.Off, err)
		}
		if _, err := io.Copy(b, io.NewSectionReader(g, e.Off, e.Len)); err != nil {
			t.Fatal(err)
		}
		n += e.Len
	}
	if !bytes.Equal(a.Sum(nil), b.Sum(nil)) {
		t.Errorf("store %d: %d bytes in %d ranges differ from vshadowmount's", r.Store().Index, n, len(ranges))
	}
	t.Logf("store %d: %d bytes in %d ranges equal vshadowmount's", r.Store().Index, n, len(ranges))
}

// compareFiles reads the store's files with our NTFS reader over our
// volume and compares them with ntfs-3g over libvshadow's volume.
func compareFiles(t *testing.T, r *vss.Reader, theirs string) {
	t.Helper()
	testutil.NeedTool(t, "ntfs-3g")
	mnt := t.TempDir()
	testutil.Run(t, "ntfs-3g", "-o", "ro", theirs, mnt)
	defer unmount(t, mnt)
	nv, err := ntfs.NewVolume(r, r.Size())
	if err != nil {
		t.Fatalf("store %d: %v", r.Store().Index, err)
	}
	files, dirs := 0, 0
	err = filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		rel = filepath.ToSlash(rel)
		ours, err := fs.Stat(nv, rel)
		if err != nil {
			t.Errorf("store %d: %s: %v", r.Store().Index, rel, err)
			return nil
		}
		switch {
		case d.IsDir():
			dirs++
			compareNames(t, nv, rel, p)
		case d.Type().IsRegular():
			files++
			if a, b := hashFile(t, nv, rel), hashOS(t, p); a != b || ours.Size() == 0 && b != hashOf(nil) {
				t.Errorf("store %d: %s: content differs from ntfs-3g's", r.Store().Index, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Errorf("store %d: no files", r.Store().Index)
	}
	t.Logf("store %d: %d files, %d directories equal ntfs-3g's", r.Store().Index, files, dirs)
}

func compareNames(t *testing.T, v *ntfs.Volume, rel, real string) {
	ours, err := fs.ReadDir(v, rel)
	if err != nil {
		t.Errorf("%s: %v", rel, err)
		return
	}
	theirs, err := os.ReadDir(real)
	if err != nil {
		t.Errorf("%s: %v", real, err)
		return
	}
	var a, b []string
	for _, e := range ours {
		a = append(a, e.Name())
	}
	for _, e := range theirs {
		b = append(b, e.Name())
	}
	if strings.Join(a, "/") != strings.Join(b, "/") {
		t.Errorf("%s: names differ:\nours    %q\nntfs-3g %q", rel, a, b)
	}
}

func hashOf(b []byte) [32]byte { return sha256.Sum256(b) }

func hashFile(t *testing.T, fsys fs.FS, name string) [32]byte {
	f, err := fsys.Open(name)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return [32]byte{}
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	return [32]byte(h.Sum(nil))
}

func hashOS(t *testing.T, p string) [32]byte {
	f, err := os.Open(p)
	if err != nil {
		t.Errorf("%s: %v", p, err)
		return [32]byte{}
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Errorf("%s: %v", p, err)
	}
	return [32]byte(h.Sum(nil))
}

func TestWindows10ExternalStorage(t *testing.T) {
	img := unpack(t, win10)
	live := volume(t, img, win10)
	v, err := vss.NewVolume(live, live.Size())
	if err != nil {
		t.Fatal(err)
	}
	checkStores(t, v, vshadowinfo(t, img, win10))
	if !v.External() {
		t.Fatal("partition 2 should keep its copies on another volume")
	}
	if _, err := v.Stores()[0].Open(); !errors.Is(err, vss.ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("opening a store without its storage volume: %v, want ErrUnsupported", err)
	}
	if err := v.AttachStorage(live, live.Size()); !errors.Is(err, vss.ErrNotStorage) {
		t.Fatalf("attaching the volume itself: %v, want ErrNotStorage", err)
	}
	storage := volume(t, img, win10Storage)
	if id, err := vss.VolumeID(storage, storage.Size()); err != nil || id != v.StorageID() {
		t.Fatalf("partition 1 is volume %s (%v), want %s", id, err, v.StorageID())
	}
	if err := v.AttachStorage(storage, storage.Size()); err != nil {
		t.Fatal(err)
	}
	// The sample's author filled one file with '1' before the first copy,
	// '2' before the second and '3' after: each copy must show its digit.
	data := dataRanges(t, img, win10)
	const off, n = 261856 * 4096, 52272
	want := map[int]byte{1: '1', 2: '2'}
	buf := make([]byte, n)
	for _, s := range v.Stores() {
		r, err := s.Open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
		if len(bytes.Trim(buf, string(want[s.Index]))) != 0 {
			t.Errorf("store %d: marker range is not all %q", s.Index, want[s.Index])
		}
		checkFilesAgainstNTFS3G(t, r, data)
	}
	if _, err := live.ReadAt(buf, off); err != nil || len(bytes.Trim(buf, "3")) != 0 {
		t.Errorf("live volume: marker range is not all '3' (%v)", err)
	}
}

// checkFilesAgainstNTFS3G writes the store's volume to a sparse file
// (libvshadow cannot read a copy kept on another volume, so there is no
// second reader of the copy itself) and compares its files as ntfs-3g
// reads them with our NTFS reader's.
func checkFilesAgainstNTFS3G(t *testing.T, r *vss.Reader, data []vss.Extent) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "vss.raw")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(r.Size()); err != nil {
		t.Fatal(err)
	}
	// Only the image's data and what the stores hold can be non-zero.
	ranges := append([]vss.Extent(nil), data...)
	for _, e := range r.Extents(0, r.Size()) {
		if e.Source != vss.Live {
			ranges = append(ranges, e)
		}
	}
	buf := make([]byte, 1<<20)
	for _, e := range ranges {
		for o := e.Off; o < min(e.Off+e.Len, r.Size()); o += int64(len(buf)) {
			n, err := r.ReadAt(buf[:min(int64(len(buf)), e.Off+e.Len-o)], o)
			if err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if !allZero(buf[:n]) {
				if _, err := f.WriteAt(buf[:n], o); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	compareFiles(t, r, out)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// BenchmarkOpen128GiB opens the catalog and every store of the 128 GiB
// Server 2003 volume and maps it: the cost follows the metadata (a few
// block lists and bitmaps), not the volume's size.
func BenchmarkOpen128GiB(b *testing.B) {
	img := testutil.UntarSample(b, win2003.archive, win2003.image, false)
	f, err := os.Open(img)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	live := io.NewSectionReader(f, win2003.start*512, win2003.sectors*512)
	b.ResetTimer()
	for range b.N {
		v, err := vss.NewVolume(live, live.Size())
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range v.Stores() {
			r, err := s.Open()
			if err != nil {
				b.Fatal(err)
			}
			r.Extents(0, r.Size())
		}
	}
}
