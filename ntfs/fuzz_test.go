package ntfs

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// FuzzVolume opens arbitrary bytes as a volume and walks and reads all of
// it: no panic, no hang, only errors. The seed is the generated tiny
// volume (2 MiB) when present, plus its first records alone.
func FuzzVolume(f *testing.F) {
	if img, err := os.ReadFile(filepath.Join(imageDir(), "tiny.img")); err == nil {
		f.Add(img)
	}
	f.Add(make([]byte, 4096))
	f.Fuzz(func(t *testing.T, img []byte) {
		v, err := NewVolume(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			return
		}
		_ = walkAll(v)
		for n := uint64(0); n < v.Records() && n < 64; n++ {
			if fi, err := v.Record(n); err == nil {
				_, _ = fi.Xattrs() // security descriptors from $Secure:$SDS
			}
			_, _ = v.RecordHeader(n)
			_, _ = v.RecordOffset(n)
			if f, err := v.OpenRecord(n, ""); err == nil {
				_, _, _ = f.Extents()
			}
		}
		_ = v.MFTExtents()
		_ = v.RecordsIn(0, int64(len(img)))
		_, _ = v.Label()
		_, _ = v.ResolveFold("DIR/FILE-1")
		v.SetShowMetafiles(true)
		_ = walkAll(v)
	})
}

// FuzzRecord decodes one MFT record and the streams it describes.
func FuzzRecord(f *testing.F) {
	if img, err := os.ReadFile(filepath.Join(imageDir(), "tiny.img")); err == nil {
		if v, err := NewVolume(bytes.NewReader(img), int64(len(img))); err == nil {
			for _, n := range []uint64{0, 5, 10, 16, 64, 70} {
				b := make([]byte, v.geo.RecordSize)
				if _, err := v.mft.ReadAt(b, int64(n)*int64(len(b))); err == nil {
					f.Add(b)
				}
			}
		}
	}
	f.Add(make([]byte, 1024))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 512 || len(b)%512 != 0 || len(b) > 4096 {
			return
		}
		r, err := parseRecord(bytes.Clone(b), 0, 0, 1<<20)
		if err != nil {
			return
		}
		dev := bytes.NewReader(make([]byte, 1<<16))
		for _, a := range r.Attrs {
			s, err := newStream(dev, 512, []*attribute{a})
			if err != nil {
				continue
			}
			buf := make([]byte, 4096)
			_, _ = s.ReadAt(buf, 0)
			_, _ = s.ReadAt(buf, s.Size()/2)
		}
	})
}

// FuzzLZNT1 decompresses arbitrary data into a compression-unit buffer.
func FuzzLZNT1(f *testing.F) {
	f.Add([]byte{0x05, 0xB0, 0x00, 'a', 'b', 'c', 0x01, 0x30})
	f.Add(append([]byte{0xFF, 0x3F}, make([]byte, 4096)...))
	f.Fuzz(func(t *testing.T, src []byte) {
		dst := make([]byte, 65536)
		n, _ := lznt1Decompress(dst, src)
		if n < 0 || n > len(dst) {
			t.Fatalf("produced %d bytes", n)
		}
	})
}

// FuzzRunlist decodes arbitrary mapping pairs.
func FuzzRunlist(f *testing.F) {
	f.Add([]byte{0x21, 0x10, 0x00, 0x01, 0x01, 0x05, 0x11, 0x02, 0xF0, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		runs, err := decodeRuns(b, 0, 1<<40, 1<<20, 0)
		if err != nil {
			return
		}
		var vcn uint64
		for _, r := range runs {
			if r.VCN != vcn || r.Len == 0 || (!r.Sparse && r.LCN+r.Len > 1<<20) {
				t.Fatalf("bad run %+v", r)
			}
			vcn += r.Len
		}
	})
}

func TestFixupRoundTrip(t *testing.T) {
	b := make([]byte, 1024)
	copy(b, "FILE")
	binary.LittleEndian.PutUint16(b[4:], 0x30)
	binary.LittleEndian.PutUint16(b[6:], 3)
	binary.LittleEndian.PutUint16(b[0x30:], 0x1234)
	for i := 0x38; i < len(b); i++ {
		b[i] = byte(i)
	}
	want := bytes.Clone(b)
	protectRecord(b)
	if binary.LittleEndian.Uint16(b[510:]) != 0x1234 || binary.LittleEndian.Uint16(b[1022:]) != 0x1234 {
		t.Fatal("sequence number not stamped")
	}
	if err := applyFixups(b, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[0x38:], want[0x38:]) {
		t.Fatal("round trip changed the record")
	}
}

func TestLeInt(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want int64
	}{
		{[]byte{0xFF}, -1},
		{[]byte{0x80}, -128},
		{[]byte{0x7F}, 127},
		{[]byte{0x00, 0x80}, -32768},
		{[]byte{0x10, 0x27, 0x00}, 10000},
		{[]byte{0xF0, 0xD8, 0xFF}, -10000},
	} {
		if got := leInt(tc.b); got != tc.want {
			t.Errorf("leInt(% x) = %d, want %d", tc.b, got, tc.want)
		}
	}
}

func TestLZNT1(t *testing.T) {
	// "abcabcabcabc": literals a b c, then a back-reference of 9 bytes
	// at distance 3. At position 3, 12 length bits remain.
	tok := uint16((3-1)<<12 | (9 - 3))
	chunk := []byte{0x08, 'a', 'b', 'c', byte(tok), byte(tok >> 8)}
	src := append([]byte{byte(len(chunk) - 1), 0xB0}, chunk...)
	dst := make([]byte, 4096)
	n, err := lznt1Decompress(dst, src)
	if err != nil || string(dst[:n]) != "abcabcabcabc" {
		t.Fatalf("got %q, %v", dst[:n], err)
	}
}
