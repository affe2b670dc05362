package diff

import (
	"encoding/binary"
	"reflect"
	"testing"
)

func TestNormalizeAndClip(t *testing.T) {
	s := normalize([]span{{10, 20}, {0, 5}, {5, 8}, {15, 30}, {40, 40}})
	if want := []span{{0, 8}, {10, 30}}; !reflect.DeepEqual(s, want) {
		t.Fatalf("normalize: %v, want %v", s, want)
	}
	if got, want := clip(s, 6, 12), []span{{0, 2}, {4, 6}}; !reflect.DeepEqual(got, want) {
		t.Errorf("clip: %v, want %v", got, want)
	}
	if overlaps(s, 8, 10) || !overlaps(s, 29, 31) {
		t.Error("overlaps")
	}
}

func TestBitmapSpans(t *testing.T) {
	// sectors 0, 2-3, 8-15 and 17 of a 20-sector block at 1 MiB
	bm := []byte{0b00001101, 0xff, 0b00000010}
	got := bitmapSpans(nil, bm, 1<<20, 1<<20+20*512, 512)
	want := []span{{1 << 20, 1<<20 + 512}, {1<<20 + 1024, 1<<20 + 2048}, {1<<20 + 4096, 1<<20 + 8192}, {1<<20 + 17*512, 1<<20 + 18*512}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestRemapped(t *testing.T) {
	a := []clusterRun{{vcn: 0, lcn: 100, n: 10}, {vcn: 10, n: 5, sparse: true}}
	b := []clusterRun{{vcn: 0, lcn: 100, n: 4}, {vcn: 4, lcn: 300, n: 6}, {vcn: 10, n: 5, sparse: true}, {vcn: 15, lcn: 9, n: 1}}
	got := normalize(remapped(a, b))
	if want := []span{{4, 10}, {15, 16}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestDecodeRunlist(t *testing.T) {
	// 0x21: 1-byte length, 2-byte offset; second run goes backwards (-0x10)
	b := []byte{0x21, 0x08, 0x00, 0x01, 0x11, 0x04, 0xf0, 0x01, 0x03, 0x00}
	runs, err := decodeRunlist(b, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	want := []clusterRun{{vcn: 0, lcn: 256, n: 8}, {vcn: 8, lcn: 240, n: 4}, {vcn: 12, n: 3, sparse: true}}
	if !reflect.DeepEqual(runs, want) {
		t.Errorf("got %+v, want %+v", runs, want)
	}
	for _, bad := range [][]byte{{0x21, 0x08, 0x00, 0x10}, {0x01, 0x00}, {0x09}, {0x21, 0x08}} {
		if _, err := decodeRunlist(bad, 0, 1000); err == nil {
			t.Errorf("%x: accepted", bad)
		}
	}
}

// record builds a 1 KiB MFT record with the given attributes and a valid
// update sequence.
func record(attrs ...[]byte) []byte {
	b := make([]byte, 1024)
	copy(b, "FILE")
	binary.LittleEndian.PutUint16(b[4:], 0x30)
	binary.LittleEndian.PutUint16(b[6:], 3)
	binary.LittleEndian.PutUint16(b[0x14:], 0x38)
	pos := 0x38
	for _, a := range attrs {
		pos += copy(b[pos:], a)
	}
	binary.LittleEndian.PutUint32(b[pos:], attrEnd)
	binary.LittleEndian.PutUint32(b[0x18:], uint32(pos+8))
	binary.LittleEndian.PutUint16(b[0x30:], 7) // update sequence number
	for i := 0; i < 2; i++ {
		end := (i+1)*512 - 2
		copy(b[0x32+2*i:], b[end:end+2])
		binary.LittleEndian.PutUint16(b[end:], 7)
	}
	return b
}

func residentData(val string) []byte {
	a := make([]byte, 24+(len(val)+7)/8*8)
	binary.LittleEndian.PutUint32(a, attrData)
	binary.LittleEndian.PutUint32(a[4:], uint32(len(a)))
	binary.LittleEndian.PutUint32(a[0x10:], uint32(len(val)))
	binary.LittleEndian.PutUint16(a[0x14:], 24)
	copy(a[24:], val)
	return a
}

func nonResidentData(runs []byte, lastVCN uint64) []byte {
	a := make([]byte, 0x40+(len(runs)+7)/8*8)
	binary.LittleEndian.PutUint32(a, attrData)
	binary.LittleEndian.PutUint32(a[4:], uint32(len(a)))
	a[8] = 1
	binary.LittleEndian.PutUint64(a[0x18:], lastVCN)
	binary.LittleEndian.PutUint16(a[0x20:], 0x40)
	copy(a[0x40:], runs)
	return a
}

func TestParseRaw(t *testing.T) {
	b := record(residentData("hello"))
	rec, err := parseRaw(b, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if s := rec.streams[""]; s == nil || !s.resident || string(s.value) != "hello" || !s.whole {
		t.Errorf("resident stream: %+v", s)
	}
	rec, err = parseRaw(record(nonResidentData([]byte{0x21, 0x08, 0x00, 0x01}, 7)), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if s := rec.streams[""]; s == nil || s.resident || !s.whole || len(s.runs) != 1 {
		t.Errorf("non-resident stream: %+v", s)
	}
	// runs that do not cover the attribute's VCNs are not whole
	rec, _ = parseRaw(record(nonResidentData([]byte{0x21, 0x08, 0x00, 0x01}, 20)), 1000)
	if rec.streams[""].whole {
		t.Error("partial runlist taken as whole")
	}
	torn := record(residentData("x"))
	torn[1022] ^= 1
	if _, err := parseRaw(torn, 1000); err == nil {
		t.Error("torn record accepted")
	}
}

func FuzzParseRaw(f *testing.F) {
	f.Add(record(residentData("hello")))
	f.Add(record(nonResidentData([]byte{0x21, 0x08, 0x00, 0x01, 0x11, 0x04, 0xf0, 0x01, 0x03}, 14)))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec := make([]byte, 1024)
		copy(rec, b)
		parseRaw(rec, 1<<20)
	})
}

func FuzzDecodeRunlist(f *testing.F) {
	f.Add([]byte{0x21, 0x08, 0x00, 0x01, 0x11, 0x04, 0xf0, 0x01, 0x03, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		runs, err := decodeRunlist(b, 0, 1<<20)
		if err != nil {
			return
		}
		for _, r := range runs {
			if r.n <= 0 || (!r.sparse && (r.lcn < 0 || r.lcn+r.n > 1<<20)) {
				t.Fatalf("run %+v escapes the volume", r)
			}
		}
	})
}
