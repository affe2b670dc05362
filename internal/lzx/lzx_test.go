package lzx

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/wimtest"
)

// TestWimlibChunks decodes every chunk wimlib's compressor wrote for
// a corpus, at each chunk size WOF uses, and compares with the source.
func TestWimlibChunks(t *testing.T) {
	dir := t.TempDir()
	wimtest.Corpus(t, dir)
	for _, chunk := range []int{32768} {
		decoded := wimtest.CheckChunks(t, dir, "LZX", chunk, Decompress)
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
	for _, chunk := range []int{32768} {
		decoded := wimtest.CheckChunks(t, dir, "LZX", chunk, Decompress)
		if decoded < (3<<20)/chunk/2 {
			t.Errorf("chunk size %d: only %d compressed chunks decoded", chunk, decoded)
		}
	}
}

func TestHostile(t *testing.T) {
	out := make([]byte, 32768)
	for _, src := range [][]byte{nil, {0xff}, make([]byte, 100), bytes.Repeat([]byte{0xff}, 300)} {
		if err := Decompress(out, src); !errors.Is(err, ErrFormat) {
			t.Errorf("% x: %v", src[:min(len(src), 8)], err)
		}
	}
	if err := Decompress(make([]byte, MaxChunkSize+1), nil); !errors.Is(err, ErrFormat) {
		t.Errorf("oversized chunk: %v", err)
	}
	// An uncompressed block: type 3, default size bit 0, 16-bit size 3,
	// alignment, offsets 1 1 1, three bytes and a pad byte.
	// Bits: 011 0 0000000000000011, then 12 bits of padding to the word.
	src := []byte{0x00, 0x60, 0x00, 0x30, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 'a', 'b', 'c', 0}
	got := make([]byte, 3)
	if err := Decompress(got, src); err != nil || string(got) != "abc" {
		t.Errorf("uncompressed block: %q, %v", got, err)
	}
}

// FuzzLZX checks that no input makes Decompress write past its output,
// panic or hang, and that it agrees with the decoder before it
// (reference_test.go): the same bytes, and an error where it gave one,
// except that a stream cut short by at most a few words, which reads as
// zeros, may be taken where the reference refused it.
func FuzzLZX(f *testing.F) {
	f.Add(make([]byte, 300), uint16(32768))
	src := make([]byte, 300)
	src[0], src[128] = 0x11, 0x01
	f.Add(src, uint16(100))
	// Real chunks, and each cut short, as seeds.
	dir := f.TempDir()
	wimtest.Corpus(f, dir)
	for _, r := range wimtest.Capture(f, dir, "LZX", 32768) {
		if st, sz, err := wimtest.Chunks(r, 32768); err == nil && r.Compressed {
			for i := 0; i < len(st); i += 5 {
				if len(st[i]) < sz[i] && sz[i] <= 65535 {
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
		switch {
		case err != nil && werr == nil:
			t.Fatalf("error %v, the reference none", err)
		case err == nil && werr != nil && !strings.Contains(werr.Error(), "cut short"):
			t.Fatalf("no error, the reference's %v", werr)
		case err == nil && werr == nil && !bytes.Equal(out[:size], want):
			t.Fatal("output differs from the reference's")
		}
	})
}
