package wimtest

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Decoder is a chunk decompressor under test: it fills out from src.
type Decoder func(out, src []byte) error

// CheckChunks decodes every compressed chunk wimlib wrote for the corpus
// in dir (made by Corpus) with compress ("XPRESS", "LZX") at chunk size
// chunk, compares each with the source, and returns how many compressed
// chunks were decoded. Chunks wimlib stored raw are compared too.
func CheckChunks(t *testing.T, dir, compress string, chunk int, decode Decoder) int {
	t.Helper()
	decoded := 0
	for name, r := range Capture(t, dir, compress, chunk) {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !r.Compressed {
			continue
		}
		stored, sizes, err := Chunks(r, chunk)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, s := range stored {
			out := make([]byte, sizes[i])
			if len(s) == sizes[i] {
				copy(out, s) // stored raw
			} else if err := decode(out, s); err != nil {
				t.Fatalf("chunk size %d, %s chunk %d: %v", chunk, name, i, err)
			} else {
				decoded++
			}
			if !bytes.Equal(out, want[i*chunk:i*chunk+sizes[i]]) {
				t.Fatalf("chunk size %d, %s chunk %d: content differs", chunk, name, i)
			}
		}
	}
	return decoded
}

// BenchmarkChunks times decode over every compressed chunk wimlib wrote
// for the test corpus; bytes/s count output bytes.
func BenchmarkChunks(b *testing.B, compress string, chunk int, decode Decoder) {
	dir := b.TempDir()
	Corpus(b, dir)
	benchmarkDir(b, dir, compress, chunk, decode)
}

// BenchmarkRealChunks times decode over the chunks wimlib wrote for
// RealCorpus's file name ("code.exe", "source.txt"): 4 MiB of x86 code or
// 2 MB of Go source; bytes/s count output bytes.
func BenchmarkRealChunks(b *testing.B, name, compress string, chunk int, decode Decoder) {
	dir := b.TempDir()
	RealCorpus(b, dir, 4<<20, 2<<20)
	for _, other := range []string{"code.exe", "source.txt"} {
		if other != name {
			if err := os.Remove(filepath.Join(dir, other)); err != nil {
				b.Fatal(err)
			}
		}
	}
	benchmarkDir(b, dir, compress, chunk, decode)
}

func benchmarkDir(b *testing.B, dir, compress string, chunk int, decode Decoder) {
	var chunks [][]byte
	var sizes []int
	for _, r := range Capture(b, dir, compress, chunk) {
		if !r.Compressed {
			continue
		}
		st, sz, err := Chunks(r, chunk)
		if err != nil {
			b.Fatal(err)
		}
		for i := range st {
			if len(st[i]) != sz[i] {
				chunks, sizes = append(chunks, st[i]), append(sizes, sz[i])
			}
		}
	}
	total := 0
	for _, s := range sizes {
		total += s
	}
	out := make([]byte, chunk)
	b.SetBytes(int64(total))
	// The thread's CPU time, beside the wall time: on a busy machine the
	// other processes stretch the wall time, much less the CPU time.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	cpu0, ok := threadCPU()
	for range b.N {
		for i, c := range chunks {
			if err := decode(out[:sizes[i]], c); err != nil {
				b.Fatal(err)
			}
		}
	}
	if cpu1, _ := threadCPU(); ok && cpu1 > cpu0 {
		b.ReportMetric(float64(total)*float64(b.N)/float64(cpu1-cpu0)*1e3, "cpu-MB/s")
	}
}
