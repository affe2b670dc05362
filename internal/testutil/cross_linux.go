//go:build linux

package testutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The randomized cross-check: testdata/cross/gen.sh makes a filesystem
// from a seed (mkfs options and a history of operations, all drawn from
// it), and CrossCheck compares every path of the kernel's mount of it with
// a reader of ours. `make test` runs the few seeds of CrossSeeds, kept as
// fixtures; `make crosscheck SEEDS=N` sets CKPTFS_CROSS_SEEDS and runs N
// seeds per filesystem, each built in a temporary folder and removed.

// CrossFS is one filesystem under the cross-check.
type CrossFS struct {
	Name  string // gen.sh's FS: xfs, ext4, btrfs
	Tools []string
	// Open opens an image with our reader.
	Open func(t testing.TB, img string) KernelFS
	// SkipPath, when set, leaves a path of the kernel's mount out of the
	// comparison (its listing in its folder is still compared): what the
	// kernel shows that is not the filesystem's.
	SkipPath func(kernelPath string) bool
}

// CrossImage is one image of the cross-check.
type CrossImage struct {
	Seed  int
	Dirty bool // left with its journal or log to replay
}

func (c CrossImage) mode() string {
	if c.Dirty {
		return "dirty"
	}
	return "clean"
}

// crossDefault is what `make test` runs: two clean images and a dirty one.
var crossDefault = []CrossImage{{1, false}, {2, false}, {3, true}}

// CrossSeeds returns the images to check: CKPTFS_CROSS_SEEDS=N (seeds 1
// to N) or A-B, every third seed dirty; else crossDefault. fresh is true
// for a seed range: the images are built in a temporary folder, not kept.
func CrossSeeds(t testing.TB) (imgs []CrossImage, fresh bool) {
	s := os.Getenv("CKPTFS_CROSS_SEEDS")
	if s == "" {
		return crossDefault, false
	}
	lo, hi := 1, 0
	var err error
	if a, b, ok := strings.Cut(s, "-"); ok {
		if lo, err = strconv.Atoi(a); err == nil {
			hi, err = strconv.Atoi(b)
		}
	} else {
		hi, err = strconv.Atoi(s)
	}
	if err != nil || lo < 1 || hi < lo {
		t.Fatalf("CKPTFS_CROSS_SEEDS=%q: want N or A-B", s)
	}
	for seed := lo; seed <= hi; seed++ {
		imgs = append(imgs, CrossImage{seed, seed%3 == 0})
	}
	return imgs, true
}

// CrossCheck builds each image of CrossSeeds and compares it with the
// kernel's mount, and logs a summary line ("crosscheck FS: ...") that
// make crosscheck prints.
func CrossCheck(t *testing.T, c CrossFS) {
	if os.Geteuid() != 0 {
		Unavailable(t, "the cross-check images are written through loop mounts: root only")
	}
	for _, tool := range append([]string{"losetup", "mount", "xfs_io", "setfattr", "setfacl", "openssl", "mknod"}, c.Tools...) {
		NeedTool(t, tool)
	}
	imgs, fresh := CrossSeeds(t)
	var images, paths, bad int
	var badSeeds []string
	for _, ci := range imgs {
		name := fmt.Sprintf("%s-%d-%s", c.Name, ci.Seed, ci.mode())
		ok := t.Run(name, func(t *testing.T) {
			img := crossBuild(t, c.Name, ci, fresh)
			n, b := crossCompare(t, c, img, ci.Dirty)
			images++
			paths += n
			bad += b
			t.Logf("%s: %d paths compared, %d differ (%s)", name, n, b, crossOptions(img))
		})
		if !ok {
			badSeeds = append(badSeeds, name)
		}
	}
	failed := "none"
	if len(badSeeds) > 0 {
		failed = strings.Join(badSeeds, " ")
	}
	t.Logf("crosscheck %s: %d images, %d paths compared, %d disagreements; failed: %s",
		c.Name, images, paths, bad, failed)
}

// crossBuild makes the image: a fixture (kept, rebuilt when gen.sh
// changes) or, for a seed range, a temporary file.
func crossBuild(t *testing.T, fsname string, ci CrossImage, fresh bool) string {
	file := fmt.Sprintf("%s-%d-%s.img", fsname, ci.Seed, ci.mode())
	args := []string{fsname, strconv.Itoa(ci.Seed), ci.mode()}
	if !fresh {
		return Fixture(t, "cross", file, args...)
	}
	out := t.TempDir()
	gen := filepath.Join(RepoRoot(), "testdata", "cross", "gen.sh")
	if b, err := exec.Command("nice", append([]string{"bash", gen, out}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("gen.sh %v: %v\n%s", args, err, b)
	}
	if keep := os.Getenv("CKPTFS_CROSS_KEEP"); keep != "" {
		t.Cleanup(func() {
			if t.Failed() {
				_ = exec.Command("cp", "--sparse=always", filepath.Join(out, file), keep).Run()
				_ = exec.Command("cp", strings.TrimSuffix(filepath.Join(out, file), ".img")+".txt", keep).Run()
			}
		})
	}
	return filepath.Join(out, file)
}

// crossOptions is the mkfs and mount line gen.sh logged for img.
func crossOptions(img string) string {
	b, _ := os.ReadFile(strings.TrimSuffix(img, ".img") + ".txt")
	lines := strings.SplitN(string(b), "\n", 3)
	if len(lines) < 2 {
		return "no log"
	}
	mkfs := strings.Fields(lines[0])
	if len(mkfs) > 0 {
		mkfs = mkfs[:len(mkfs)-1] // the temporary image's path
	}
	return strings.Join(mkfs, " ") + "; " + lines[1]
}

// crossMount mounts img read-only with the kernel. A dirty image is
// copied first and the copy is attached writable, so that the kernel
// replays its journal or log (into the copy): our reader replays the
// original in memory.
func crossMount(t *testing.T, img, fstype string, dirty bool) string {
	t.Helper()
	loopArgs := []string{"-r", "-f", "--show", img}
	if dirty {
		cp := filepath.Join(t.TempDir(), "copy.img")
		Run(t, "cp", "--sparse=always", img, cp)
		loopArgs = []string{"-f", "--show", cp}
	}
	dev := strings.TrimSpace(string(Run(t, "losetup", loopArgs...)))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	mnt := t.TempDir()
	if b, err := exec.Command("mount", "-t", fstype, "-o", "ro", dev, mnt).CombinedOutput(); err != nil {
		t.Fatalf("the kernel cannot mount %s: %v %s", img, err, b)
	}
	t.Cleanup(func() {
		if b, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, b)
		}
	})
	return mnt
}

// crossCompare compares every path of the kernel's mount with our reader:
// compareOne's metadata, content and xattrs, each folder's listing, and
// each regular file's data and holes (SEEK_DATA/SEEK_HOLE) where our
// reader says its extents map them. It returns the paths compared and
// those that differ.
func crossCompare(t *testing.T, c CrossFS, img string, dirty bool) (n, bad int) {
	mnt := crossMount(t, img, c.Name, dirty)
	v := c.Open(t, img)
	// The kernel's holes first: reading an unwritten extent leaves pages
	// in its cache that SEEK_DATA then takes for data.
	holes := map[string][][2]int64{}
	walk(t, mnt, func(rel string, d fs.DirEntry) {
		if d.Type().IsRegular() {
			holes[rel] = kernelDataMap(t, filepath.Join(mnt, rel))
		}
	})
	walk(t, mnt, func(rel string, d fs.DirEntry) {
		if c.SkipPath != nil && c.SkipPath(filepath.Join(mnt, rel)) {
			return
		}
		n++
		msg := compareOne(t, v, mnt, rel)
		if d.IsDir() {
			msg = join(msg, compareListing(v, mnt, rel))
		} else if want, ok := holes[rel]; ok {
			msg = join(msg, compareDataMap(v, rel, want))
		}
		if msg != "" {
			if bad++; bad <= 20 {
				t.Errorf("%s: %s", rel, msg)
			}
		}
	})
	if bad > 20 {
		t.Errorf("%d of %d paths differ from the kernel", bad, n)
	}
	return n, bad
}

func walk(t *testing.T, mnt string, fn func(rel string, d fs.DirEntry)) {
	err := filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		fn(filepath.ToSlash(rel), d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func join(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}

// compareListing compares a folder's names with the kernel's.
func compareListing(v KernelFS, mnt, rel string) string {
	kents, err := os.ReadDir(filepath.Join(mnt, rel))
	if err != nil {
		return "kernel readdir: " + err.Error()
	}
	ents, err := fs.ReadDir(v, rel)
	if err != nil {
		return "readdir: " + err.Error()
	}
	var want, got []string
	for _, e := range kents {
		want = append(want, e.Name())
	}
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(want)
	slices.Sort(got)
	if slices.Equal(want, got) {
		return ""
	}
	var extra, missing []string
	for _, g := range got {
		if _, found := slices.BinarySearch(want, g); !found {
			extra = append(extra, g)
		}
	}
	for _, w := range want {
		if _, found := slices.BinarySearch(got, w); !found {
			missing = append(missing, w)
		}
	}
	return fmt.Sprintf("listing: %d names, kernel %d; extra %.5q, missing %.5q", len(got), len(want), extra, missing)
}

// kernelDataMap is a file's data ranges by SEEK_DATA and SEEK_HOLE.
func kernelDataMap(t *testing.T, p string) [][2]int64 {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]int64
	for off := int64(0); ; {
		d, err := unix.Seek(int(f.Fd()), off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			return out
		} else if err != nil {
			t.Fatalf("%s: SEEK_DATA: %v", p, err)
		}
		h, err := unix.Seek(int(f.Fd()), d, unix.SEEK_HOLE)
		if err != nil {
			t.Fatalf("%s: SEEK_HOLE: %v", p, err)
		}
		out = append(out, [2]int64{d, h})
		off = h
	}
}

// compareDataMap compares the data ranges our extents give (absent,
// sparse and unwritten ranges are holes) with the kernel's, when the
// reader maps the file's holes exactly.
func compareDataMap(v KernelFS, rel string, want [][2]int64) string {
	f, err := v.Open(rel)
	if err != nil {
		return "" // compareOne says
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	got, ok, err := readerDataMap(f, fi.Size())
	if err != nil {
		return "extents: " + err.Error()
	}
	if !ok || slices.Equal(got, want) {
		return ""
	}
	return fmt.Sprintf("data ranges %.8v, kernel %.8v", got, want)
}

// readerDataMap calls the file's Extents method (each reader has its own
// Extent type, with FileOff, Len, Sparse and maybe Unwritten) and merges
// its data ranges; ok is false when the reader does not claim its holes
// are the file's (inline or compressed data).
func readerDataMap(f fs.File, size int64) (out [][2]int64, ok bool, err error) {
	m := reflect.ValueOf(f).MethodByName("Extents")
	if !m.IsValid() {
		return nil, false, nil
	}
	r := m.Call(nil)
	if e, _ := r[2].Interface().(error); e != nil {
		return nil, false, e
	}
	exact := r[1].Bool()
	if hm, isHM := f.(interface{ HolesExact() bool }); isHM && hm.HolesExact() {
		exact = true
	}
	if !exact {
		return nil, false, nil
	}
	exts := r[0]
	for i := range exts.Len() {
		e := exts.Index(i)
		if e.FieldByName("Sparse").Bool() {
			continue
		}
		if u := e.FieldByName("Unwritten"); u.IsValid() && u.Bool() {
			continue
		}
		lo := e.FieldByName("FileOff").Int()
		hi := min(lo+e.FieldByName("Len").Int(), size)
		if hi <= lo {
			continue
		}
		if k := len(out); k > 0 && out[k-1][1] == lo {
			out[k-1][1] = hi
		} else {
			out = append(out, [2]int64{lo, hi})
		}
	}
	return out, true, nil
}
