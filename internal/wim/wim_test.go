package wim

import (
	"bytes"
	"testing"
)

// TestRawWOFChunks lays data out as raw WOF chunks and splits it back.
func TestRawWOFChunks(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000) // 10,000 bytes: 3 chunks of 4096
	r := Resource{Stored: RawWOF(data, 4096), Size: int64(len(data)), Compressed: true}
	stored, sizes, err := Chunks(r, 4096)
	if err != nil || len(stored) != 3 || sizes[2] != 10000-8192 {
		t.Fatalf("%d chunks, sizes %v, %v", len(stored), sizes, err)
	}
	if !bytes.Equal(bytes.Join(stored, nil), data) {
		t.Error("chunks differ from the data")
	}
}

// TestBlobTableHostile: a damaged WIM header is an error, never a panic.
func TestBlobTableHostile(t *testing.T) {
	img := make([]byte, 300)
	copy(img, "MSWIM\x00\x00\x00")
	for _, b := range [][]byte{nil, []byte("MSWIM"), img} {
		if _, err := BlobTable(b); err == nil && len(b) < 208 {
			t.Errorf("%d bytes: no error", len(b))
		}
	}
	img[48+7] = 0 // a table of 2^48 bytes
	img[48] = 0xff
	img[48+6] = 0xff
	if _, err := BlobTable(img); err == nil {
		t.Error("table past the end: no error")
	}
}
