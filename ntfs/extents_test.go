package ntfs

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// istatClusters runs `istat -r` on record num and returns, cluster by
// cluster, the LCN of each VCN of its unnamed $DATA (-1 for a hole), with
// the attribute's header line. Runs sleuthkit prints in several pieces
// (several attribute headers) are joined.
func istatClusters(t *testing.T, img string, num uint64) ([]int64, string) {
	t.Helper()
	out := testutil.Run(t, "istat", "-r", img, strconv.FormatUint(num, 10))
	var lcns []int64
	var header string
	in := false
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Type: ") {
			in = strings.HasPrefix(line, "Type: $DATA (128-") && strings.Contains(line, "Name: N/A")
			if in && header == "" {
				header = line
			}
			continue
		}
		addr, n, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "Starting address: ")), ", length: ")
		if !in || !ok {
			continue
		}
		cnt, err := strconv.ParseInt(strings.Fields(n)[0], 10, 64)
		if err != nil {
			t.Fatalf("istat line %q: %v", line, err)
		}
		lcn := int64(-1)
		if !strings.Contains(n, "Sparse") {
			if lcn, err = strconv.ParseInt(addr, 10, 64); err != nil {
				t.Fatalf("istat line %q: %v", line, err)
			}
		}
		for i := int64(0); i < cnt; i++ {
			if lcn < 0 {
				lcns = append(lcns, -1)
			} else {
				lcns = append(lcns, lcn+i)
			}
		}
	}
	return lcns, header
}

// extentClusters expands extents the way istatClusters does.
func extentClusters(t *testing.T, exts []Extent, cs int64) []int64 {
	t.Helper()
	var out []int64
	for _, e := range exts {
		if e.FileOff != int64(len(out))*cs || e.Len%cs != 0 {
			t.Fatalf("extent %+v does not follow %d clusters", e, len(out))
		}
		for i := int64(0); i < e.Len/cs; i++ {
			if e.Sparse {
				out = append(out, -1)
			} else {
				out = append(out, e.VolOff/cs+i)
			}
		}
	}
	return out
}

// TestExtentsAgainstSleuthkit checks the data runs of $MFT (fragmented,
// with its runlist continued in an extension record) and of plain, sparse,
// fragmented, compressed and resident files against istat.
func TestExtentsAgainstSleuthkit(t *testing.T) {
	testutil.NeedTool(t, "istat")
	img := image(t, "small")
	v := openImage(t, "small")
	cs := int64(v.geo.ClusterSize)

	want, _ := istatClusters(t, img, 0)
	mft := v.MFTExtents()
	if got := extentClusters(t, mft, cs); !reflect.DeepEqual(got, want) {
		t.Errorf("$MFT: %d clusters differ from istat's %d", len(got), len(want))
	}
	if len(mft) < 2 {
		t.Errorf("$MFT of small.img has %d extents: the test image lost its fragmentation", len(mft))
	}

	for _, p := range []string{"sparse.bin", "frag/a.bin", "frag/b.bin", "frag/many.bin", "compressed/text.txt", "compressed/mixed.txt", "manylinks/target.txt"} {
		f, err := v.OpenFile(p)
		if err != nil {
			t.Fatal(err)
		}
		exts, exact, err := f.Extents()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want, header := istatClusters(t, img, recordOf(t, v, p))
		switch {
		case !strings.Contains(header, "Non-Resident"):
			if exts != nil || exact {
				t.Errorf("%s: resident, yet %d extents, exact %v", p, len(exts), exact)
			}
			continue
		case strings.Contains(header, "Compressed") || !strings.Contains(header, "size: "+strconv.FormatInt(f.Size(), 10)+"  init_size: "+strconv.FormatInt(f.Size(), 10)):
			if exact {
				t.Errorf("%s (%s): exact", p, header)
			}
		case !exact:
			t.Errorf("%s (%s): not exact", p, header)
		}
		// istat cuts the trailing hole of a compression unit at the data
		// size; the runlist maps the whole unit.
		got := extentClusters(t, exts, cs)
		if len(got) > len(want) && len(got)-len(want) < 16 && slices.Equal(got[len(want):], slices.Repeat([]int64{-1}, len(got)-len(want))) {
			got = got[:len(want)]
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: clusters %v\nistat %v", p, got, want)
		}
	}
}

// TestRecordMapping checks RecordOffset and RecordsIn against each other
// and against the $MFT extents, and that reading at RecordOffset finds the
// record.
func TestRecordMapping(t *testing.T) {
	img := image(t, "small")
	v := openImage(t, "small")
	rs := int64(v.geo.RecordSize)
	var next uint64
	for _, e := range v.MFTExtents() {
		got := v.RecordsIn(e.VolOff, e.VolOff+e.Len)
		if len(got) == 0 || got[0] != next {
			t.Fatalf("extent %+v: records %v, want from %d", e, got, next)
		}
		next = got[len(got)-1] + 1
	}
	if next != v.Records() {
		t.Errorf("extents hold %d records, want %d", next, v.Records())
	}
	raw, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, num := range []uint64{0, 1, 5, 15, 16, recordOf(t, v, "frag/many.bin"), v.Records() - 1} {
		off, err := v.RecordOffset(num)
		if err != nil {
			t.Fatalf("record %d: %v", num, err)
		}
		if got := v.RecordsIn(off, off+1); !reflect.DeepEqual(got, []uint64{num}) {
			t.Errorf("record %d at %#x: RecordsIn says %v", num, off, got)
		}
		for _, n := range v.RecordsIn(off-1, off+rs+1) {
			if n+1 < num || n > num+1 {
				t.Errorf("record %d: a range one byte wider than it meets record %d", num, n)
			}
		}
		sig := make([]byte, 4)
		if _, err := raw.ReadAt(sig, off); err != nil {
			t.Fatal(err)
		}
		if h, err := v.RecordHeader(num); err != nil || h.Present != (string(sig) == "FILE") {
			t.Errorf("record %d: header %+v, %v", num, h, err)
		}
	}
	if _, err := v.RecordOffset(v.Records()); !errors.Is(err, ErrRange) {
		t.Errorf("record past $MFT: %v", err)
	}
	if got := v.RecordsIn(0, int64(v.geo.ClusterSize)); got != nil {
		t.Errorf("the boot sector holds records %v", got)
	}
}

// TestRecordHeader checks base, extension, empty and torn records.
func TestRecordHeader(t *testing.T) {
	v := openImage(t, "small")
	many := recordOf(t, v, "frag/many.bin")
	h, err := v.RecordHeader(many)
	if err != nil || !h.Present || !h.InUse || h.Base != (Ref{}) {
		t.Errorf("frag/many.bin: %+v %v", h, err)
	}
	// $MFT's extension record names record 0 as its base.
	if h, err := v.RecordHeader(15); err != nil || !h.Present || h.Base.Record != 0 || h.Base.Seq == 0 {
		t.Errorf("record 15: %+v %v", h, err)
	}
	// The extension records holding frag/many.bin's runlist point back to it.
	var exts int
	for n := uint64(16); n < v.Records(); n++ {
		if h, err := v.RecordHeader(n); err == nil && h.Base.Record == many {
			exts++
		}
	}
	if exts == 0 {
		t.Error("no extension record of frag/many.bin")
	}

	var num uint64
	img := messWith(t, func(tv *Volume, img []byte) []byte {
		num = recordOf(t, tv, "hello.txt")
		for _, o := range recordOffsets(t, tv, num) {
			clear(img[o : o+fixupStride])
		}
		return img
	})
	tv, err := NewVolume(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	if h, err := tv.RecordHeader(num); err != nil || h.Present {
		t.Errorf("zeroed record: %+v %v", h, err)
	}
	img = messWith(t, func(tv *Volume, img []byte) []byte {
		img[recordOffsets(t, tv, num)[0]+fixupStride-1] ^= 0xff
		return img
	})
	if tv, err = NewVolume(bytes.NewReader(img), int64(len(img))); err != nil {
		t.Fatal(err)
	}
	if _, err := tv.RecordHeader(num); !errors.Is(err, ErrFixup) {
		t.Errorf("torn record: %v", err)
	}
	if _, err := tv.RecordHeader(tv.Records()); !errors.Is(err, ErrRange) {
		t.Errorf("record past $MFT: %v", err)
	}
}

// TestDirectoryExtents checks that a directory has no data extents.
func TestDirectoryExtents(t *testing.T) {
	v := openImage(t, "tiny")
	f, err := v.OpenFile(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Extents(); err == nil {
		t.Error("a directory has extents")
	}
}

// TestRunExtents checks the byte extents built from a hand-made runlist
// with a backward run and a hole.
func TestRunExtents(t *testing.T) {
	b := []byte{0x21, 0x08, 0x00, 0x01, 0x11, 0x04, 0xf0, 0x01, 0x03, 0x00}
	runs, err := decodeRuns(b, 0, 15, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &stream{cs: 512, runs: runs}
	want := []Extent{{0, 256 * 512, 8 * 512, false}, {8 * 512, 240 * 512, 4 * 512, false}, {12 * 512, -1, 3 * 512, true}}
	if got := s.extentsOf(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
