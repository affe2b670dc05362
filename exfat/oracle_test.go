//go:build linux

package exfat

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// node is what a reader says about one path.
type node struct {
	dir          bool
	size         int64
	sum          [32]byte
	mtime, atime time.Time
	crtime       time.Time
	id           uint64
}

// ours walks the volume with this package, reading every file whole and
// checking that its extents, read from the image, give the same bytes.
func ours(t *testing.T, v *FS, img string) map[string]node {
	t.Helper()
	raw, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	out := map[string]node{}
	err = fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		i := fi.Sys().(*FileInfo)
		n := node{dir: d.IsDir(), size: fi.Size(), mtime: fi.ModTime(), atime: i.AccessTime(), crtime: i.CreationTime(), id: i.FileID()}
		if !n.dir {
			b, err := fs.ReadFile(v, p)
			if err != nil {
				return err
			}
			n.sum = sha256.Sum256(b)
			if int64(len(b)) != n.size {
				t.Errorf("%s: read %d bytes of %d", p, len(b), n.size)
			}
			checkExtents(t, v, raw, p, b)
		}
		out[p] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkExtents reads the file p's extents from the image and compares
// them with its content.
func checkExtents(t *testing.T, v *FS, raw io.ReaderAt, p string, content []byte) {
	f, err := v.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	exts, exact, err := f.(*File).Extents()
	if err != nil || !exact {
		t.Fatalf("%s: Extents: exact %v, %v", p, exact, err)
	}
	var at int64
	for _, e := range exts {
		if e.FileOff != at {
			t.Errorf("%s: extent at %d, expected %d", p, e.FileOff, at)
		}
		buf := make([]byte, e.Len)
		if !e.Zero {
			if _, err := raw.ReadAt(buf, e.VolOff); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(buf, content[e.FileOff:e.FileOff+e.Len]) {
			t.Errorf("%s: extent %+v differs from the content", p, e)
		}
		at += e.Len
	}
	if at != int64(len(content)) {
		t.Errorf("%s: extents cover %d bytes of %d", p, at, len(content))
	}
}

// viaFUSE walks a read-only mount.exfat-fuse mount of the image.
func viaFUSE(t *testing.T, mnt string) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == mnt {
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		n := node{dir: d.IsDir(), size: fi.Size(), mtime: fi.ModTime(), atime: time.Unix(st.Atim.Unix())}
		if !n.dir {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n.sum = sha256.Sum256(b)
		}
		out[rel] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// viaTSK lists the image with sleuthkit's fls (body format: sizes and
// times) and reads every non-empty file with icat: a second reader
// independent of exfat-fuse. Deleted entries and the metadata files
// sleuthkit shows ($ALLOC_BITMAP, the label entry, ...) are left out.
func viaTSK(t *testing.T, img string) map[string]node {
	t.Helper()
	testutil.NeedTool(t, "fls")
	testutil.NeedTool(t, "icat")
	cmd := exec.Command("fls", "-r", "-m", "", "-f", "exfat", img)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("fls: %v", err)
	}
	out := map[string]node{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// MD5|name|inode|mode|UID|GID|size|atime|mtime|ctime|crtime
		f := strings.Split(sc.Text(), "|")
		if len(f) != 11 {
			t.Fatalf("fls line %q", sc.Text())
		}
		name := strings.TrimPrefix(f[1], "/")
		if strings.HasSuffix(name, " (deleted)") || strings.Contains(name, "$") || strings.HasSuffix(name, "(Volume Label Entry)") {
			continue
		}
		num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
		n := node{dir: strings.HasPrefix(f[3], "d/"), size: num(f[6]),
			atime: time.Unix(num(f[7]), 0), mtime: time.Unix(num(f[8]), 0), crtime: time.Unix(num(f[10]), 0)}
		if !n.dir && n.size > 0 {
			data, err := exec.Command("icat", "-f", "exfat", img, f[2]).Output()
			if err != nil {
				t.Fatalf("icat %s (%s): %v", f[2], name, err)
			}
			n.sum = sha256.Sum256(data)
		} else if !n.dir {
			n.sum = sha256.Sum256(nil)
		}
		out[name] = n
	}
	return out
}

// tskTime is what sleuthkit shows for a time: the timestamp's date and
// time fields read as UTC, whatever its UTC offset, in whole two-second
// steps (it leaves out the 10 ms increment).
func tskTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second()&^1, 0, time.UTC)
}

// tskSame compares a time with sleuthkit's, which shows times past
// 2038-01-19 as 0 (32-bit seconds).
func tskSame(ours, tsk time.Time) bool {
	want := tskTime(ours)
	if want.Unix() > 1<<31-1 {
		return tsk.Unix() == 0
	}
	return want.Equal(tsk)
}

func TestAgainstOracles(t *testing.T) {
	for _, variant := range variants {
		t.Run(variant, func(t *testing.T) {
			img := fixture(t, variant)
			v := openFixture(t, img)
			if w := v.Warnings(); len(w) > 0 {
				t.Errorf("warnings: %v", w)
			}
			if want := "CKPT-" + variant; v.Label() != want {
				t.Errorf("label %q, want %q", v.Label(), want)
			}
			if v.Serial() != 0x1c2d3e4f {
				t.Errorf("serial %#x", v.Serial())
			}
			got := ours(t, v, img)
			checkFUSE(t, got, viaFUSE(t, fuseMount(t, img, tzOf(variant))))
			checkTSK(t, got, viaTSK(t, img))
			checkTree(t, v, got)
			checkUsage(t, v, img)
		})
	}
}

// checkUsage compares the allocation bitmap's count with dump.exfat's.
func checkUsage(t *testing.T, v *FS, img string) {
	testutil.NeedTool(t, "dump.exfat")
	out, err := exec.Command("dump.exfat", img).Output()
	if err != nil {
		t.Fatalf("dump.exfat: %v", err)
	}
	field := func(name string) int64 {
		for _, l := range strings.Split(string(out), "\n") {
			if k, val, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == name {
				n, _ := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
				return n
			}
		}
		t.Fatalf("dump.exfat gives no %q:\n%s", name, out)
		return 0
	}
	used, total, err := v.Usage()
	if err != nil || total != field("Total Clusters") || total-used != field("Free Clusters") {
		t.Errorf("usage: %d of %d clusters used (%v); dump.exfat: %d free of %d", used, total, err, field("Free Clusters"), field("Total Clusters"))
	}
}

// fuseTime undoes exfat-fuse's leap day of 2100: it counts every fourth
// year as a leap year, so from March 2100 on it writes timestamps one day
// early and reads them one day late (touch -d 2107-12-31 is stored as
// 2107-12-30, which this package reads, and exfat-fuse shows as 12-31).
func fuseTime(t time.Time) time.Time {
	if t.After(time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC)) {
		return t.AddDate(0, 0, -1)
	}
	return t
}

func checkFUSE(t *testing.T, got, fuse map[string]node) {
	var files, bytes int64
	for p, w := range fuse {
		g, ok := got[p]
		switch {
		case !ok:
			t.Errorf("fuse %s: missing here", p)
			continue
		case g.dir != w.dir || (!g.dir && (g.size != w.size || g.sum != w.sum)):
			t.Errorf("fuse %s: dir %v size %d, here dir %v size %d (or content differs)", p, w.dir, w.size, g.dir, g.size)
		case !g.mtime.Equal(fuseTime(w.mtime)) || !g.atime.Equal(fuseTime(w.atime)):
			t.Errorf("fuse %s: mtime %v atime %v, here %v %v", p, w.mtime, w.atime, g.mtime, g.atime)
		}
		if !w.dir {
			files++
			bytes += w.size
		}
	}
	for p := range got {
		if _, ok := fuse[p]; !ok {
			t.Errorf("%s: not in the fuse mount", p)
		}
	}
	t.Logf("exfat-fuse: %d paths, %d files, %d bytes compared", len(fuse), files, bytes)
}

func checkTSK(t *testing.T, got, tsk map[string]node) {
	var files, bytes int64
	for p, w := range tsk {
		g, ok := got[p]
		switch {
		case !ok:
			t.Errorf("fls %s: missing here", p)
			continue
		case g.dir != w.dir || (!g.dir && (g.size != w.size || g.sum != w.sum)):
			t.Errorf("fls %s: dir %v size %d, here dir %v size %d (or content differs)", p, w.dir, w.size, g.dir, g.size)
		case !tskSame(g.mtime, w.mtime) || !tskSame(g.atime, w.atime) || !tskSame(g.crtime, w.crtime):
			t.Errorf("fls %s: m/a/cr %v %v %v, here %v %v %v", p, w.mtime, w.atime, w.crtime, g.mtime, g.atime, g.crtime)
		}
		if !w.dir {
			files++
			bytes += w.size
		}
	}
	for p := range got {
		if _, ok := tsk[p]; !ok {
			t.Errorf("%s: not listed by fls", p)
		}
	}
	t.Logf("sleuthkit: %d paths, %d files, %d bytes compared", len(tsk), files, bytes)
}

// checkTree checks what populate.sh wrote that the oracles cannot tell:
// the times it set, in the zone it ran in, the deleted file's absence,
// the big folder's count, unique file IDs.
func checkTree(t *testing.T, v *FS, got map[string]node) {
	loc, err := time.LoadLocation(tzOf(strings.TrimPrefix(v.Label(), "CKPT-")))
	if err != nil {
		t.Fatal(err)
	}
	for name, when := range map[string]string{
		"times/t-1980-01-01": "1980-01-01 00:00:00", "times/t-1999-12-31": "1999-12-31 23:59:59",
		"times/t-2020-02-29": "2020-02-29 12:34:56", "times/t-2038-01-19": "2038-01-19 03:14:08",
		"times/t-2107-12-31": "2107-12-30 23:59:58", // see fuseTime "hello.txt": "2022-05-06 07:08:09", "a/b/c/d": "2023-01-02 03:04:05",
	} {
		want, _ := time.ParseInLocation(time.DateTime, when, loc)
		if g := got[name].mtime.Truncate(time.Second); !g.Equal(want) {
			t.Errorf("%s: mtime %v, populate.sh set %v", name, g, want)
		}
	}
	want, _ := time.ParseInLocation(time.DateTime, "2024-06-01 10:00:00", loc)
	if g := got["times/t-2020-02-29"].atime; !g.Equal(want) {
		t.Errorf("atime %v, populate.sh set %v", g, want)
	}
	if _, ok := got["deleted.txt"]; ok {
		t.Error("the deleted file is listed")
	}
	many, err := fs.ReadDir(v, "many")
	if err != nil || len(many) != 1200 {
		t.Errorf("many: %d entries, %v", len(many), err)
	}
	checkLayout(t, v)
	checkNameHashes(t, v)
	ids := map[uint64]string{}
	for p, n := range got {
		if q, dup := ids[n.id]; dup {
			t.Errorf("%s and %s share FileID %d", p, q, n.id)
		}
		ids[n.id] = p
	}
}

// checkLayout checks that the tree has what it was written to have:
// fragmented FAT chains and contiguous (NoFatChain) files.
func checkLayout(t *testing.T, v *FS) {
	for _, p := range []string{"frag/left", "frag/right", "frag/filler"} {
		f, err := v.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		exts, _, _ := f.(*File).Extents()
		fi, _ := f.Stat()
		if len(exts) < 2 || fi.Sys().(*FileInfo).Contiguous() {
			t.Errorf("%s: %d extents, contiguous %v: not fragmented", p, len(exts), fi.Sys().(*FileInfo).Contiguous())
		}
	}
	fi, err := v.Stat("sizes/s3000001")
	if err != nil || !fi.Sys().(*FileInfo).Contiguous() {
		t.Errorf("sizes/s3000001 is not contiguous (%v)", err)
	}
}

func TestFoldLookup(t *testing.T) {
	v := openFixture(t, fixture(t, "c4k"))
	for in, want := range map[string]string{
		"NAMES/mixedcase.txt":          "names/MixedCase.TXT",
		"names/CAFÉ DÉJÀ VU – ÆRØ.TXT": "names/café déjà vu – Ærø.txt",
		"Names/ÜNÏCÖDÉ-DIR/INSIDE":     "names/Ünïcödé-dir/inside",
		"names/MixedCase.TXT":          "names/MixedCase.TXT",
		"A/b/C/d/DEEP.TXT":             "a/b/c/d/deep.txt",
		"names/日本語のファイル名.TXT":          "names/日本語のファイル名.txt",
	} {
		got, err := v.ResolveFold(in)
		if err != nil || got != want {
			t.Errorf("ResolveFold(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := v.Open("names/mixedcase.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open matched a name differing in case: %v", err)
	}
	dir, _ := v.Stat("names")
	fi, err := v.LookupFoldIn(dir, "MIXEDCASE.txt")
	if err != nil || fi.Name() != "MixedCase.TXT" {
		t.Errorf("LookupFoldIn: %v %v", fi, err)
	}
	if _, err := v.LookupIn(dir, "MIXEDCASE.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LookupIn matched a name differing in case: %v", err)
	}
	if v.upcase == nil {
		t.Error("the volume's up-case table was not loaded")
	}
}

// checkNameHashes recomputes every stream extension's NameHash (which
// exfat-fuse computed with its own up-case table) through the volume's
// table: a wrong table would fold names differently from Windows.
func checkNameHashes(t *testing.T, v *FS) {
	n := 0
	_ = fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		fi, _ := d.Info()
		e := fi.Sys().(*FileInfo).e
		units := utf16.Encode([]rune(e.name))
		for i, u := range units {
			units[i] = v.upcase[u]
		}
		if h := nameHash(units); h != e.nameHash {
			t.Errorf("%s: NameHash %#04x, up-cased name hashes to %#04x", p, e.nameHash, h)
		}
		n++
		return nil
	})
	if n < 1000 {
		t.Errorf("only %d names hashed", n)
	}
}
