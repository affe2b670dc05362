package testutil

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// CheckReadAt reads rounds pieces of up to maxLen bytes at random offsets
// (some past the end) through ra and compares them with want, and the
// io.EOF that a read reaching the end must give.
func CheckReadAt(t testing.TB, ra io.ReaderAt, want []byte, rounds, maxLen int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	for range rounds {
		off := r.Int64N(int64(len(want)) + 100)
		buf := make([]byte, 1+r.IntN(maxLen))
		n, err := ra.ReadAt(buf, off)
		end := max(off, min(off+int64(len(buf)), int64(len(want))))
		if n != int(end-off) || !bytes.Equal(buf[:n], want[min(off, end):end]) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v", len(buf), off, n, err)
		}
		if atEnd := end < off+int64(len(buf)); atEnd != (err == io.EOF) || (!atEnd && err != nil) {
			t.Fatalf("ReadAt(%d bytes at %d): err %v", len(buf), off, err)
		}
	}
}
