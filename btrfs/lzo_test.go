package btrfs

import (
	"bytes"
	"testing"
)

// TestLZO1X decodes hand-made LZO1X blocks: literals, a match, an
// overlapping match, and damaged ones that must fail, never panic.
func TestLZO1X(t *testing.T) {
	end := []byte{0x11, 0x00, 0x00} // the end marker: M4 with distance 0
	tests := []struct {
		name string
		in   []byte
		want []byte // nil: an error is expected
	}{
		// First byte 17+4: four literals, then the end marker.
		{"literals", append([]byte{21, 'a', 'b', 'c', 'd'}, end...), []byte("abcd")},
		// "ab" as literals (first byte 17+2), then an M2 match 0b010_001_00:
		// length 2+1, distance 1+1, no trailing literals; it overlaps
		// itself: "ababa".
		{"overlapping match", append([]byte{19, 'a', 'b', 0x40 | 1<<2, 0}, end...), []byte("ababa")},
		{"empty", nil, nil},
		{"truncated literals", []byte{21, 'a'}, nil},
		{"match before the start", append([]byte{18, 'a', 0x40 | 7<<2, 0xff}, end...), nil},
		{"no end marker", []byte{21, 'a', 'b', 'c', 'd'}, nil},
		{"bytes after the end", append(append([]byte{21, 'a', 'b', 'c', 'd'}, end...), 0), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := make([]byte, 64)
			n, err := lzo1xDecompress(out, tc.in)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("got %q, want an error", out[:n])
				}
				return
			}
			if err != nil || !bytes.Equal(out[:n], tc.want) {
				t.Fatalf("got %q, %v; want %q", out[:n], err, tc.want)
			}
		})
	}
	// Output that does not fit fails instead of writing past dst.
	if _, err := lzo1xDecompress(make([]byte, 2), append([]byte{21, 'a', 'b', 'c', 'd'}, end...)); err == nil {
		t.Fatal("overflowing output accepted")
	}
}
