//go:build linux

package exfat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"testing"
	"time"
)

// tiny returns a copy of the tiny image (testdata/exfat/gen.sh tiny) in
// memory, for the tests that damage or craft structures in it.
func tiny(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(fixture(t, "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openBytes(b []byte) (*FS, error) { return New(bytes.NewReader(b), int64(len(b))) }

func mustOpen(t *testing.T, b []byte) *FS {
	t.Helper()
	v, err := openBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// setOff is the volume offset of the File entry of path in image b.
func setOff(t *testing.T, b []byte, path string) int64 {
	t.Helper()
	fi, err := mustOpen(t, b).Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*FileInfo).e.off
}

// messSet lets mess change the entry set at off (its File entry first)
// and fixes the checksum after it.
func messSet(b []byte, off int64, mess func(set []byte)) {
	set := b[off : off+int64(1+b[off+1])*entrySize]
	mess(set)
	binary.LittleEndian.PutUint16(set[2:], setChecksum(set))
}

// messBoot changes the boot sector of the main region (and the backup
// one with both) and fixes the checksums after it.
func messBoot(b []byte, both bool, mess func(sector []byte)) {
	regions := []int{0}
	if both {
		regions = append(regions, backupBootSector*512)
	}
	for _, at := range regions {
		mess(b[at : at+512])
		setBootChecksum(b[at:at+12*512], 512)
	}
}

func TestBootRegion(t *testing.T) {
	img := tiny(t)
	for _, tc := range []struct {
		name   string
		mess   func(b []byte)
		want   error // from New; nil when it opens
		backup bool  // opened from the backup region
	}{
		{"intact", func(b []byte) {}, nil, false},
		{"flags outside the checksum", func(b []byte) { b[106] |= flagVolumeDirty; b[112] = 99 }, nil, false},
		{"main checksum", func(b []byte) { b[100]++ }, nil, true},
		{"main name", func(b []byte) { b[3] = 'X' }, nil, true},
		{"main checksum sector", func(b []byte) { b[11*512+7]++ }, nil, true},
		{"both checksums", func(b []byte) { b[100]++; b[12*512+100]++ }, ErrChecksum, false},
		{"both names", func(b []byte) { b[3] = 'X'; b[12*512+3] = 'X' }, ErrFormat, false},
		{"backup checksum", func(b []byte) { b[12*512+100]++ }, nil, false},
		{"revision 2", func(b []byte) { messBoot(b, true, func(s []byte) { s[105] = 2 }) }, ErrUnsupported, false},
		{"cluster count", func(b []byte) {
			messBoot(b, true, func(s []byte) { binary.LittleEndian.PutUint32(s[92:], 0xFFFFFFF0) })
		}, ErrFormat, false},
		{"root cluster", func(b []byte) {
			messBoot(b, true, func(s []byte) { binary.LittleEndian.PutUint32(s[96:], 1) })
		}, ErrFormat, false},
		{"sector shift", func(b []byte) { messBoot(b, true, func(s []byte) { s[108] = 13 }) }, ErrFormat, false},
		{"cluster shift", func(b []byte) { messBoot(b, true, func(s []byte) { s[109] = 20 }) }, ErrFormat, false},
		{"volume length", func(b []byte) {
			messBoot(b, true, func(s []byte) { binary.LittleEndian.PutUint64(s[72:], 1<<40) })
		}, ErrFormat, false},
		{"FAT in the boot region", func(b []byte) {
			messBoot(b, true, func(s []byte) { binary.LittleEndian.PutUint32(s[80:], 3) })
		}, ErrFormat, false},
		{"FAT too short", func(b []byte) {
			messBoot(b, true, func(s []byte) { binary.LittleEndian.PutUint32(s[84:], 1) })
		}, ErrFormat, false},
		{"MustBeZero", func(b []byte) { messBoot(b, true, func(s []byte) { s[20] = 1 }) }, ErrFormat, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(img)
			tc.mess(b)
			v, err := openBytes(b)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("New: %v, want %v", err, tc.want)
				}
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Errorf("%v is not a *FormatError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Dirty() != (tc.name == "flags outside the checksum") {
				t.Errorf("dirty: %v", v.Dirty())
			}
			if v.UsedBackupBoot() != tc.backup {
				t.Errorf("backup used: %v, want %v (%v)", v.UsedBackupBoot(), tc.backup, v.Warnings())
			}
			// Either copy damaged is a warning (wrapping its error).
			damaged := tc.backup || tc.name == "backup checksum"
			if w := v.Warnings(); damaged != (len(w) == 1) || damaged && !isContent(w[0]) {
				t.Errorf("warnings %v", w)
			}
			if got, err := fs.ReadFile(v, "hello.txt"); err != nil || len(got) != 13 {
				t.Errorf("hello.txt: %q %v", got, err)
			}
		})
	}
}

func TestTruncated(t *testing.T) {
	img := tiny(t)
	for _, n := range []int{0, 100, 511, 512, 6000, 12 * 512, 64 << 10, len(img) - 1} {
		if _, err := openBytes(img[:n]); !errors.Is(err, ErrFormat) {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
}

func TestEntrySets(t *testing.T) {
	img := tiny(t)
	hello := setOff(t, img, "hello.txt")

	b := bytes.Clone(img)
	b[hello+8]++ // the create time, under the checksum
	v := mustOpen(t, b)
	if _, err := v.Stat("hello.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a set failing its checksum was listed: %v", err)
	}
	if w := v.Warnings(); len(w) != 1 || !errors.Is(w[0], ErrChecksum) {
		t.Errorf("warnings %v", w)
	}
	if _, err := v.Stat("café.txt"); err != nil {
		t.Errorf("the rest of the folder: %v", err)
	}

	b = bytes.Clone(img)
	messSet(b, hello, func(s []byte) { binary.LittleEndian.PutUint16(s[4:], AttrReadOnly|AttrHidden|AttrArchive) })
	fi, err := mustOpen(t, b).Stat("hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o444 || fi.Sys().(*FileInfo).WindowsAttributes() != 0x23 {
		t.Errorf("mode %v attributes %#x", fi.Mode(), fi.Sys().(*FileInfo).WindowsAttributes())
	}

	// Only 5 of 13 bytes written: the rest reads as zeros and maps as a
	// zero extent.
	b = bytes.Clone(img)
	messSet(b, hello, func(s []byte) { binary.LittleEndian.PutUint64(s[entrySize+8:], 5) })
	v = mustOpen(t, b)
	got, err := fs.ReadFile(v, "hello.txt")
	want, _ := fs.ReadFile(mustOpen(t, img), "hello.txt")
	if err != nil || !bytes.Equal(got, append(want[:5:5], make([]byte, 8)...)) {
		t.Errorf("read %q, %v", got, err)
	}
	f, _ := v.Open("hello.txt")
	exts, exact, _ := f.(*File).Extents()
	if !exact || len(exts) != 2 || exts[0].Len != 5 || exts[0].Zero || !exts[1].Zero || exts[1].FileOff != 5 || exts[1].Len != 8 {
		t.Errorf("extents %+v", exts)
	}
	var buf [4]byte
	if n, err := f.(*File).ReadAt(buf[:], 11); n != 2 || err != io.EOF {
		t.Errorf("ReadAt at the end: %d %v", n, err)
	}
}

// craft writes entry sets into the empty folder empty-dir of a copy of
// the tiny image (one cluster: 16 entries) and opens it.
func craft(t *testing.T, img []byte, sets ...[]byte) *FS {
	t.Helper()
	b := bytes.Clone(img)
	dir, err := mustOpen(t, b).Open("empty-dir")
	if err != nil {
		t.Fatal(err)
	}
	e := dir.(*File).info.e
	at := mustOpen(t, b).clusterOff(e.firstCluster)
	for _, s := range sets {
		at += int64(copy(b[at:], s))
	}
	return mustOpen(t, b)
}

func TestCraftedEntries(t *testing.T) {
	img := tiny(t)
	hi, err := mustOpen(t, img).Stat("hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	he := *hi.Sys().(*FileInfo).e
	mk := func(name string) *entry { e := he; e.name = name; return &e }
	benign := make([]byte, entrySize)
	benign[0] = 0xE0 // vendor extension
	critical := make([]byte, entrySize)
	critical[0] = 0xC5
	padding := make([]byte, entrySize)
	padding[0] = 0xA1 // TexFAT padding: a benign primary entry
	deleted := encodeSet(mk("deleted"))
	for i := 0; i < len(deleted); i += entrySize {
		deleted[i] &^= typeInUse
	}
	v := craft(t, img, encodeSet(mk("vendor"), benign), encodeSet(mk("critical"), critical),
		padding, deleted, encodeSet(mk("after")))
	ents, err := fs.ReadDir(v, "empty-dir")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 || names[0] != "after" || names[1] != "vendor" {
		t.Errorf("listed %q", names)
	}
	if w := v.Warnings(); len(w) != 1 || !errors.Is(w[0], ErrUnsupported) {
		t.Errorf("warnings %v", w)
	}
	if got, err := fs.ReadFile(v, "empty-dir/vendor"); err != nil || len(got) != 13 {
		t.Errorf("read %q %v", got, err)
	}

	// A critical primary entry of an unknown type makes the folder
	// unreadable; in the root it would make the volume so.
	unknown := make([]byte, entrySize)
	unknown[0] = 0x86
	if _, err := fs.ReadDir(craft(t, img, unknown), "empty-dir"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown critical primary: %v", err)
	}
	label := make([]byte, entrySize)
	label[0] = typeLabel
	if _, err := fs.ReadDir(craft(t, img, label), "empty-dir"); !errors.Is(err, ErrFormat) {
		t.Errorf("label entry in a subfolder: %v", err)
	}
}

func TestHostileChains(t *testing.T) {
	img := tiny(t)
	v0 := mustOpen(t, img)
	hi, _ := v0.Stat("hello.txt")
	he := *hi.Sys().(*FileInfo).e
	mk := func(name string, first uint32, n int64, contiguous bool) []byte {
		e := he
		e.name, e.firstCluster, e.dataLen, e.validLen, e.noFatChain = name, first, n, n, contiguous
		return encodeSet(&e)
	}
	// A free cluster near the end of the heap whose FAT entry points at
	// itself: a chain through it loops.
	last := v0.boot.ClusterCount + 1
	b := bytes.Clone(img)
	binary.LittleEndian.PutUint32(b[v0.fatOff+int64(last)*4:], last)
	v := craft(t, b, mk("loop", last, 3*512, false), mk("outside", 0xFFFFFF00, 10, false),
		mk("huge", 5, 1<<40, false), mk("past-heap", last-1, 4*512, true), mk("bad", 0, 10, false))
	for _, name := range []string{"loop", "outside", "huge", "past-heap", "bad"} {
		_, err := v.Open("empty-dir/" + name)
		var fe *FormatError
		if !errors.Is(err, ErrFormat) || !errors.As(err, &fe) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The root directory's chain looping back to itself.
	b = bytes.Clone(img)
	root := v0.boot.RootCluster
	f := v0.newFatReader()
	c := root
	for {
		next, _ := f.next(c)
		if next == fatEnd {
			break
		}
		c = next
	}
	binary.LittleEndian.PutUint32(b[v0.fatOff+int64(c)*4:], root)
	if _, err := openBytes(b); !errors.Is(err, ErrFormat) {
		t.Errorf("root chain loop: %v", err)
	}
}

func TestDirectoryLoop(t *testing.T) {
	img := tiny(t)
	v0 := mustOpen(t, img)
	e := entry{name: "up", attrs: AttrDirectory, firstCluster: v0.boot.RootCluster, allocPossible: true,
		dataLen: 512, validLen: 512, mtime: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	v := craft(t, img, encodeSet(&e))
	if _, err := v.Stat("empty-dir/up/empty-dir"); !errors.Is(err, ErrFormat) {
		t.Errorf("a folder that is its own ancestor: %v", err)
	}
	n := 0
	_ = fs.WalkDir(v, ".", func(string, fs.DirEntry, error) error { n++; return nil })
	if n > 100 {
		t.Errorf("the walk visited %d paths", n)
	}
}

func TestUpcaseChecksum(t *testing.T) {
	img := tiny(t)
	v0 := mustOpen(t, img)
	b := bytes.Clone(img)
	b[v0.clusterOff(v0.root.upcase.first)+100]++
	v := mustOpen(t, b)
	if w := v.Warnings(); len(w) != 1 || !errors.Is(w[0], ErrChecksum) {
		t.Errorf("warnings %v", w)
	}
	if got, err := v.ResolveFold("CAFÉ.TXT"); err != nil || got != "café.txt" {
		t.Errorf("fold without the table: %q %v", got, err)
	}
}

func TestTimeRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2023, 1, 2, 3, 4, 5, 60e6, time.FixedZone("", 5*3600+1800)),
		time.Date(2107, 12, 31, 23, 59, 59, 990e6, time.FixedZone("", -8*3600)),
		time.Date(2000, 2, 29, 12, 0, 1, 0, time.FixedZone("", -12*3600-45*60)),
	} {
		ts, inc, utc := encodeTime(tm)
		if got := decodeTime(ts, inc, utc); !got.Equal(tm) {
			t.Errorf("%v came back as %v", tm, got)
		}
	}
	if !decodeTime(0, 0, 0).IsZero() {
		t.Error("a zero timestamp is not the zero time")
	}
	// Without a valid offset the time is UTC; an increment past 199 is
	// ignored.
	ts, _, _ := encodeTime(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))
	if got := decodeTime(ts, 250, 0x10); !got.Equal(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)) {
		t.Errorf("got %v", got)
	}
}

func TestBootRoundTrip(t *testing.T) {
	img := tiny(t)
	s, err := decodeBoot(img[:512], int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 512)
	copy(b, img[:3])
	s.encode(b)
	copy(b[120:510], img[120:510]) // boot code, which encode leaves alone
	if !bytes.Equal(b, img[:512]) {
		t.Error("encode(decode(sector)) differs from the sector")
	}
}

// TestVolumeGUID writes a volume GUID entry (mkfs.exfat writes none) into
// the first unused slot of the root directory.
func TestVolumeGUID(t *testing.T) {
	img := tiny(t)
	v0 := mustOpen(t, img)
	if _, ok := v0.GUID(); ok {
		t.Fatal("the tiny image has a GUID already")
	}
	runs, err := v0.chainRuns(v0.boot.RootCluster, -1, false, "root", 0)
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(img)
	want := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	for off := int64(0); ; off += entrySize {
		at := volAt(runs, off)
		if at < 0 {
			t.Fatal("no free slot in the root directory")
		}
		if b[at]&typeInUse != 0 {
			continue // (the tiny root has no free slot, but a deleted one)
		}
		g := b[at : at+entrySize]
		clear(g)
		g[0] = typeGUID
		copy(g[6:], want[:])
		binary.LittleEndian.PutUint16(g[2:], setChecksum(g))
		break
	}
	got, ok := mustOpen(t, b).GUID()
	if !ok || got != want {
		t.Errorf("GUID %x %v", got, ok)
	}
	if mustOpen(t, b).Label() != "CKPT-tiny" {
		t.Error("label lost")
	}
}

// TestConcurrentUse walks, reads and looks up names from several
// goroutines on one volume (run with -race): the directory cache and the
// case-folding maps are shared.
func TestConcurrentUse(t *testing.T) {
	v := openFixture(t, fixture(t, "c512"))
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			done <- fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					if err == nil {
						_, err = v.ResolveFold(p)
					}
					return err
				}
				_, err = fs.ReadFile(v, p)
				return err
			})
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestActiveFat makes the tiny volume a two-FAT one (mkfs.exfat makes
// none; TexFAT does): the second FAT a copy of the first, a second bitmap
// entry, and the first FAT zeroed. With ActiveFat set the chains are read
// from the second FAT; without it the zeroed one fails them.
func TestActiveFat(t *testing.T) {
	img := tiny(t)
	v0 := mustOpen(t, img)
	if v0.boot.FatOffset+2*v0.boot.FatLength > v0.boot.ClusterHeapOffset {
		t.Skip("no room for a second FAT in this image")
	}
	b := bytes.Clone(img)
	fatLen := int64(v0.boot.FatLength) * 512
	fat1 := int64(v0.boot.FatOffset) * 512
	copy(b[fat1+fatLen:fat1+2*fatLen], b[fat1:fat1+fatLen])
	clear(b[fat1+8 : fat1+fatLen])
	runs, err := v0.chainRuns(v0.boot.RootCluster, -1, false, "root", 0)
	if err != nil {
		t.Fatal(err)
	}
	for off := int64(0); ; off += entrySize {
		at := volAt(runs, off)
		if at < 0 {
			t.Fatal("no unused slot in the root directory")
		}
		if b[at]&typeInUse == 0 {
			bm := v0.root.bitmaps[0]
			g := b[at : at+entrySize]
			clear(g)
			g[0], g[1] = typeBitmap, 1 // the second FAT's bitmap
			binary.LittleEndian.PutUint32(g[20:], bm.first)
			binary.LittleEndian.PutUint64(g[24:], uint64(bm.len))
			break
		}
	}
	for _, active := range []bool{true, false} {
		c := bytes.Clone(b)
		messBoot(c, false, func(s []byte) {
			s[110] = 2
			if active {
				s[106] |= flagActiveFat
			}
		})
		v, err := openBytes(c)
		if !active {
			if !errors.Is(err, ErrFormat) {
				t.Errorf("the zeroed first FAT: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, err := fs.ReadFile(v, "café.txt"); err != nil || string(got) != "accent\n" {
			t.Errorf("café.txt through the second FAT: %q %v", got, err)
		}
		if n, err := fs.ReadDir(v, "."); err != nil || len(n) < 5 {
			t.Errorf("root: %d entries, %v", len(n), err)
		}
		used, _, err := v.Usage()
		used0, _, _ := v0.Usage()
		if err != nil || used != used0 {
			t.Errorf("usage %d (%v), one-FAT volume %d", used, err, used0)
		}
	}
}
