package lzmatch

import (
	"bytes"
	"testing"
)

// TestCopy checks every path (word copies, plain copy, byte by byte,
// doubling) against the byte-by-byte definition of a match.
func TestCopy(t *testing.T) {
	for _, slack := range []int{0, 3, 16} {
		for offset := 1; offset <= 20; offset++ {
			for length := 1; length <= 70; length++ {
				prefix := []byte("abcdefghijklmnopqrstuvwxyz")
				n := len(prefix) + length + slack
				got := make([]byte, n)
				want := make([]byte, n)
				copy(got, prefix)
				copy(want, prefix)
				out := len(prefix)
				for i := range length {
					want[out+i] = want[out+i-offset]
				}
				Copy(got, out, offset, length)
				if !bytes.Equal(got[:out+length], want[:out+length]) {
					t.Fatalf("offset %d length %d slack %d: %q, want %q", offset, length, slack, got[:out+length], want[:out+length])
				}
			}
		}
	}
}
