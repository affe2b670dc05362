//go:build linux

package btrfs_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/btrfs"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"golang.org/x/sys/unix"
)

// kernelMount attaches img read-only and mounts it once per option set
// (the same loop device serves every mount, so the kernel sees one
// filesystem), returning the mount points. Cleanup unmounts and detaches.
func kernelMount(t *testing.T, img string, opts ...string) []string {
	t.Helper()
	dev := strings.TrimSpace(string(testutil.Run(t, "losetup", "--find", "--show", "--read-only", img)))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	var dirs []string
	for _, o := range opts {
		dir := t.TempDir()
		testutil.Run(t, "mount", "-t", "btrfs", "-o", "ro"+o, dev, dir)
		t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
		dirs = append(dirs, dir)
	}
	return dirs
}

func openImage(t testing.TB, img string) (*btrfs.Volume, *os.File) {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	v, err := btrfs.NewVolume(f, st.Size())
	if err != nil {
		t.Fatalf("%s: %v", img, err)
	}
	return v, f
}

type counts struct{ files, dirs, bytes int64 }

// compareTree checks every entry under the kernel's mount dir against the
// same path in fsys: names, type, permission bits, owners, size, link
// count, inode number, all four times, xattrs, link targets and content.
func compareTree(t *testing.T, fsys *btrfs.FS, dir string) counts {
	t.Helper()
	var c counts
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		compareEntry(t, fsys, p, rel, &c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func compareEntry(t *testing.T, fsys *btrfs.FS, p, rel string, c *counts) {
	t.Helper()
	var kst unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_ALL|unix.STATX_BTIME, &kst); err != nil {
		t.Fatal(err)
	}
	fi, err := fsys.Stat(rel)
	if err != nil {
		t.Errorf("%s: %v", rel, err)
		return
	}
	sys := fi.(*btrfs.FileInfo)
	perm, uid, gid := sys.POSIXAttributes()
	kmode := uint32(kst.Mode)
	stub := kst.Ino == 2 // the kernel's stand-in for a nested subvolume a snapshot left out
	if perm != kmode&0o7777 || uid != kst.Uid || gid != kst.Gid {
		t.Errorf("%s: perm/uid/gid %o/%d/%d, kernel %o/%d/%d", rel, perm, uid, gid, kmode&0o7777, kst.Uid, kst.Gid)
	}
	if got, want := testutil.FileTypeBits(fi.Mode()), kmode&unix.S_IFMT; got != want {
		t.Errorf("%s: type %o, kernel %o", rel, got, want)
	}
	if fi.Size() != int64(kst.Size) && !stub {
		t.Errorf("%s: size %d, kernel %d", rel, fi.Size(), kst.Size)
	}
	if sys.LinkCount() != int(kst.Nlink) {
		t.Errorf("%s: nlink %d, kernel %d", rel, sys.LinkCount(), kst.Nlink)
	}
	if sys.Ino() != kst.Ino {
		t.Errorf("%s: ino %d, kernel %d", rel, sys.Ino(), kst.Ino)
	}
	if !stub {
		for _, tc := range []struct {
			name string
			got  time.Time
			want unix.StatxTimestamp
		}{{"mtime", fi.ModTime(), kst.Mtime}, {"atime", sys.AccessTime(), kst.Atime}, {"ctime", sys.ChangeTime(), kst.Ctime}, {"btime", sys.CreationTime(), kst.Btime}} {
			if w := time.Unix(tc.want.Sec, int64(tc.want.Nsec)); !tc.got.Equal(w) {
				t.Errorf("%s: %s %v, kernel %v", rel, tc.name, tc.got, w)
			}
		}
	}
	compareXattrs(t, sys, p, rel)
	switch kmode & unix.S_IFMT {
	case unix.S_IFLNK:
		want, _ := os.Readlink(p)
		got, err := fsys.ReadLink(rel)
		if err != nil || got != want {
			t.Errorf("%s: link %q (%v), kernel %q", rel, got, err, want)
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		maj, mnr, ok := sys.DeviceNumber()
		if !ok || maj != kst.Rdev_major || mnr != kst.Rdev_minor {
			t.Errorf("%s: device %d:%d (%v), kernel %d:%d", rel, maj, mnr, ok, kst.Rdev_major, kst.Rdev_minor)
		}
	case unix.S_IFREG:
		c.files++
		c.bytes += fi.Size()
		compareContent(t, fsys, p, rel)
	case unix.S_IFDIR:
		c.dirs++
		ents, err := fsys.ReadDir(rel)
		kents, kerr := os.ReadDir(p)
		if err != nil || kerr != nil {
			t.Errorf("%s: readdir %v, kernel %v", rel, err, kerr)
			return
		}
		if a, b := names(ents), names(kents); a != b {
			t.Errorf("%s: entries\n%s\nkernel\n%s", rel, a, b)
		}
	}
}

func names(ents []fs.DirEntry) string {
	var s []string
	for _, e := range ents {
		s = append(s, e.Name()+":"+e.Type().String())
	}
	return strings.Join(s, " ")
}

func compareXattrs(t *testing.T, sys *btrfs.FileInfo, p, rel string) {
	t.Helper()
	got, err := sys.Xattrs()
	if err != nil {
		t.Errorf("%s: xattrs: %v", rel, err)
		return
	}
	want := map[string][]byte{}
	buf := make([]byte, 65536)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		t.Fatalf("%s: llistxattr: %v", rel, err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		v := make([]byte, 65536)
		m, err := unix.Lgetxattr(p, name, v)
		if err != nil {
			t.Fatalf("%s: lgetxattr %s: %v", rel, name, err)
		}
		want[name] = v[:m]
	}
	if len(got) != len(want) {
		t.Errorf("%s: xattrs %v, kernel %v", rel, keys(got), keys(want))
	}
	for k, v := range want {
		if !bytes.Equal(got[k], v) {
			t.Errorf("%s: xattr %s = %x, kernel %x", rel, k, got[k], v)
		}
	}
}

func keys(m map[string][]byte) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

func compareContent(t *testing.T, fsys *btrfs.FS, p, rel string) {
	t.Helper()
	want, err := hashFile(os.Open(p))
	if err != nil {
		t.Fatalf("%s: kernel read: %v", rel, err)
	}
	got, err := hashFile(fsys.Open(rel))
	if err != nil {
		t.Errorf("%s: %v", rel, err)
		return
	}
	if got != want {
		t.Errorf("%s: content differs from the kernel's", rel)
	}
}

func hashFile[F io.ReadCloser](f F, err error) ([32]byte, error) {
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, err
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s, nil
}

// TestKernelOracle compares every image's default subvolume and its top
// level with what the kernel mounts.
func TestKernelOracle(t *testing.T) {
	dir := btrfs.BuildImages(t)
	for _, name := range []string{"main", "suse", "fedora", "xxhash", "sha256", "blake2", "rootdir", "tiny"} {
		t.Run(name, func(t *testing.T) {
			img := filepath.Join(dir, name+".img")
			mnts := kernelMount(t, img, "", ",subvolid=5")
			v, _ := openImage(t, img)
			def, err := v.Subvolume(v.DefaultSubvolume())
			if err != nil {
				t.Fatal(err)
			}
			c := compareTree(t, def, mnts[0])
			top, err := v.Subvolume(5)
			if err != nil {
				t.Fatal(err)
			}
			c5 := compareTree(t, top, mnts[1])
			if name == "main" {
				checkKinds(t, top)
			}
			t.Logf("default subvolume %d: %d files, %d dirs, %d bytes; top level: %d files, %d dirs, %d bytes",
				v.DefaultSubvolume(), c.files, c.dirs, c.bytes, c5.files, c5.dirs, c5.bytes)
		})
	}
}

// checkKinds makes sure the main image exercises every kind of extent
// the reader decodes, so that a kernel laying files out differently
// cannot quietly leave a path untested.
func checkKinds(t *testing.T, fsys *btrfs.FS) {
	total := map[string]int{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		for k, n := range btrfs.ExtentKinds(f.(*btrfs.File)) {
			total[k] += n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("extent kinds: %v", total)
	for _, k := range []string{"inline", "inline-zlib", "inline-lzo", "inline-zstd", "regular", "regular-zlib", "regular-lzo", "regular-zstd", "prealloc", "offset"} {
		if total[k] == 0 {
			t.Errorf("the main image has no %s extent", k)
		}
	}
}

// BenchmarkWalkHash lists the main image's tree and hashes every file
// through the reader (about 1,250 files, 77 MB).
func BenchmarkWalkHash(b *testing.B) {
	img := filepath.Join(btrfs.BuildImages(b), "main.img")
	var total int64
	for b.Loop() {
		v, f := openImage(b, img)
		fsys, err := v.Subvolume(5)
		if err != nil {
			b.Fatal(err)
		}
		total = 0
		err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			h := sha256.New()
			g, err := fsys.Open(p)
			if err != nil {
				return err
			}
			n, err := io.Copy(h, g.(io.Reader))
			total += n
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	b.SetBytes(total)
}

// dataRanges merges a file's extents into the ranges that hold data (not
// holes, not preallocated space), as SEEK_DATA/SEEK_HOLE see them.
func dataRanges(exts []btrfs.Extent) [][2]int64 {
	var out [][2]int64
	for _, e := range exts {
		if e.Sparse || e.Prealloc {
			continue
		}
		if n := len(out); n > 0 && out[n-1][1] == e.FileOff {
			out[n-1][1] += e.Len
			continue
		}
		out = append(out, [2]int64{e.FileOff, e.FileOff + e.Len})
	}
	return out
}

// kernelDataRanges asks the kernel with lseek(SEEK_DATA/SEEK_HOLE).
func kernelDataRanges(t *testing.T, p string) [][2]int64 {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	var out [][2]int64
	for off := int64(0); off < st.Size(); {
		d, err := unix.Seek(int(f.Fd()), off, unix.SEEK_DATA)
		if err != nil {
			break // ENXIO: no data after off
		}
		h, err := unix.Seek(int(f.Fd()), d, unix.SEEK_HOLE)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]int64{d, h})
		off = h
	}
	return out
}

// TestHolesAgainstKernel compares every file's data and hole ranges in
// the main image with the kernel's SEEK_DATA/SEEK_HOLE answers, and the
// extents of exactly mapped files with the device's bytes.
func TestHolesAgainstKernel(t *testing.T) {
	img := filepath.Join(btrfs.BuildImages(t), "main.img")
	mnt := kernelMount(t, img, "")[0]
	v, dev := openImage(t, img)
	fsys, err := v.Subvolume(5)
	if err != nil {
		t.Fatal(err)
	}
	n, holed, exactN := 0, 0, 0
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		exts, exact, err := f.(*btrfs.File).Extents()
		if err != nil {
			return err
		}
		if exact {
			// The mount serves such files as views of the device.
			exactN++
			for _, e := range exts {
				if e.Sparse || e.Prealloc {
					continue
				}
				a, b := make([]byte, e.Len), make([]byte, e.Len)
				if _, err := dev.ReadAt(a, e.VolOff); err != nil {
					return err
				}
				if _, err := f.(*btrfs.File).ReadAt(b, e.FileOff); err != nil && err != io.EOF {
					return err
				}
				if !bytes.Equal(a, b) {
					t.Errorf("%s: extent at file offset %d is not the device's bytes at %d", p, e.FileOff, e.VolOff)
				}
			}
		}
		got, want := dataRanges(exts), kernelDataRanges(t, filepath.Join(mnt, p))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: data ranges %v, kernel %v", p, got, want)
		}
		n++
		if len(want) != 1 {
			holed++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files, %d with holes or preallocated space, %d mapped exactly", n, holed, exactN)
	if exactN == 0 {
		t.Error("no exactly mapped file (the nodatacow one should be)")
	}
}

// TestConcurrentReads reads compressed and plain files of one open handle
// from several goroutines at random offsets (run with -race).
func TestConcurrentReads(t *testing.T) {
	img := filepath.Join(btrfs.BuildImages(t), "main.img")
	v, _ := openImage(t, img)
	fsys, err := v.Subvolume(5)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"zstd/text1m", "lzo/mixed", "zlib/random", "fragmented"} {
		want, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := fsys.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		r := f.(*btrfs.File)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(g), 1))
				for range 50 {
					off := rng.Int64N(int64(len(want)))
					n := min(int64(rng.IntN(200000)+1), int64(len(want))-off)
					buf := make([]byte, n)
					if _, err := r.ReadAt(buf, off); err != nil && err != io.EOF {
						t.Errorf("%s at %d: %v", name, off, err)
						return
					}
					if !bytes.Equal(buf, want[off:off+n]) {
						t.Errorf("%s: bytes at %d+%d differ", name, off, n)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}
