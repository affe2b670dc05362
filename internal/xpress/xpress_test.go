package xpress

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ckptfs/ckptfs/internal/wimtest"
)

// TestWimlibChunks decodes every chunk wimlib's XPRESS compressor wrote for
// a corpus, at each chunk size WOF uses, and compares with the source.
func TestWimlibChunks(t *testing.T) {
	dir := t.TempDir()
	wimtest.Corpus(t, dir)
	for _, chunk := range []int{4096, 8192, 16384} {
		decoded := wimtest.CheckChunks(t, dir, "XPRESS", chunk, Decompress)
		if decoded < 50 {
			t.Errorf("chunk size %d: only %d compressed chunks decoded", chunk, decoded)
		}
		t.Logf("chunk size %d: %d compressed chunks right", chunk, decoded)
	}
}

// TestRealChunks does the same for real files: an x86 binary and Go
// source (wimtest.RealCorpus).
func TestRealChunks(t *testing.T) {
	dir := t.TempDir()
	wimtest.RealCorpus(t, dir, 2<<20, 1<<20)
	for _, chunk := range []int{4096, 8192, 16384} {
		decoded := wimtest.CheckChunks(t, dir, "XPRESS", chunk, Decompress)
		if decoded < (3<<20)/chunk/2 {
			t.Errorf("chunk size %d: only %d compressed chunks decoded", chunk, decoded)
		}
	}
}

func TestHostile(t *testing.T) {
	out := make([]byte, 4096)
	// No codes at all.
	if err := Decompress(out, make([]byte, 300)); !errors.Is(err, ErrFormat) {
		t.Errorf("empty table: %v", err)
	}
	// Table cut short.
	if err := Decompress(out, make([]byte, 10)); !errors.Is(err, ErrFormat) {
		t.Errorf("short table: %v", err)
	}
	// One match symbol (offset 1) of length 3 as the first symbol: it
	// reaches before the start.
	src := make([]byte, 260)
	src[256/2] = 0x01 // symbol 256: length 1, code 1
	src[0] = 0x10     // symbol 1: length 1, code 0
	src[256], src[257], src[258], src[259] = 0xff, 0xff, 0xff, 0xff
	if err := Decompress(out, src); !errors.Is(err, ErrFormat) {
		t.Errorf("match before start: %v", err)
	}
	// Nothing to do for an empty output.
	if err := Decompress(nil, nil); err != nil {
		t.Errorf("empty: %v", err)
	}
}

// FuzzXpress checks that no input makes Decompress write past its
// output, panic or hang, and that it agrees with the plain reading of
// [MS-XCA] in reference_test.go: the same error or none, the same bytes.
func FuzzXpress(f *testing.F) {
	f.Add(make([]byte, 300), uint16(4096))
	src := make([]byte, 300)
	src[0], src[128] = 0x11, 0x01
	f.Add(src, uint16(100))
	// Real chunks, and each cut short, as seeds.
	dir := f.TempDir()
	wimtest.Corpus(f, dir)
	for _, r := range wimtest.Capture(f, dir, "XPRESS", 4096) {
		if st, sz, err := wimtest.Chunks(r, 4096); err == nil && r.Compressed {
			for i := 0; i < len(st); i += 7 {
				if len(st[i]) < sz[i] {
					f.Add(st[i], uint16(sz[i]))
					f.Add(st[i][:len(st[i])*2/3], uint16(sz[i]))
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, size uint16) {
		out := make([]byte, int(size)+16)
		for i := range out {
			out[i] = 0xAA
		}
		err := Decompress(out[:size], src)
		for _, b := range out[size:] {
			if b != 0xAA {
				t.Fatal("wrote past the output")
			}
		}
		want := make([]byte, size)
		werr := refDecompress(want, src)
		if (err == nil) != (werr == nil) {
			t.Fatalf("error %v, the reference's %v", err, werr)
		}
		if err == nil && !bytes.Equal(out[:size], want) {
			t.Fatal("output differs from the reference's")
		}
	})
}
