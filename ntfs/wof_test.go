package ntfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/ckptfs/ckptfs/internal/wimtest"
)

// wofFormats are the WOF formats of the test volume.
var wofFormats = wimtest.WOFFormats

func wofImage(t *testing.T) (img, corpus string) { return wimtest.WOFVolume(t) }

// TestWOF reads every WOF file of every format and compares it with its
// source, whole and by random small reads across chunk boundaries.
func TestWOF(t *testing.T) {
	img, corpus := wofImage(t)
	v, err := Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	names := corpusNames(t, corpus)
	right := 0
	for _, f := range wofFormats {
		for _, name := range names {
			want, err := os.ReadFile(filepath.Join(corpus, name))
			if err != nil {
				t.Fatal(err)
			}
			p := f.Dir + "/" + name
			info, err := v.Stat(p)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			rec := info.Sys().(*FileRecordInfo)
			if algo, ok := rec.Reparse.WofFormat(); !ok || algo != f.Algo {
				t.Errorf("%s: WOF format %d, %v", p, algo, ok)
			}
			if info.Size() != int64(len(want)) || !info.Mode().IsRegular() {
				t.Errorf("%s: size %d mode %v, want %d", p, info.Size(), info.Mode(), len(want))
			}
			fl, err := v.OpenFile(p)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			got, err := io.ReadAll(io.NewSectionReader(fl, 0, fl.Size()))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: content differs from the source (%v)", p, err)
				continue
			}
			for i := int64(0); i < 20; i++ {
				off := (i * 7919) % int64(len(want)+1)
				buf := make([]byte, 5000)
				n, err := fl.ReadAt(buf, off)
				if (err != nil && err != io.EOF) || !bytes.Equal(buf[:n], want[off:min(off+5000, int64(len(want)))]) {
					t.Errorf("%s: ReadAt(%d): %d, %v", p, off, n, err)
					break
				}
			}
			// Reads of whole chunks decode straight into the buffer, on
			// several cores past 128 KiB; partial ones go through the cache.
			c := int64(f.Chunk)
			for _, size := range []int64{1, c - 1, c, c + 1, 3 * c, 300 << 10, 1<<20 + 5} {
				for _, off := range []int64{0, 1, c - 1, c, 3*c + 17} {
					if off >= int64(len(want)) {
						continue
					}
					buf := make([]byte, size)
					n, err := fl.ReadAt(buf, off)
					if (err != nil && err != io.EOF) || !bytes.Equal(buf[:n], want[off:min(off+size, int64(len(want)))]) {
						t.Errorf("%s: ReadAt(%d bytes at %d): %d, %v", p, size, off, n, err)
					}
				}
			}
			// The WofCompressedData stream is the file's storage: not listed,
			// still open by name.
			if slices.Contains(rec.StreamNames(), wofStreamName) {
				t.Errorf("%s: streams %q list %s", p, rec.StreamNames(), wofStreamName)
			}
			if sf, err := v.OpenStream(p, wofStreamName); err != nil {
				t.Errorf("%s: the WOF stream does not open: %v", p, err)
			} else {
				sf.Close()
			}
			right++
		}
	}
	t.Logf("WOF files right: %d of %d", right, len(names)*len(wofFormats))

	fl, err := v.OpenFile("dedup/file.txt")
	if err == nil {
		_, err = fl.ReadAt(make([]byte, 1), 0)
	}
	if !errors.Is(err, ErrDeduplicated) || !errors.Is(err, ErrUnsupported) {
		t.Errorf("deduplicated file: %v, want ErrDeduplicated", err)
	}
}

func corpusNames(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// TestWOFHostile damages the chunk table and chunks of a WOF file: reads
// fail with ErrFormat, never panic, never return wrong-sized data.
func TestWOFHostile(t *testing.T) {
	for _, algo := range []uint32{WofXpress4K, WofLZX, 7} {
		r := &Reparse{Tag: TagWOF, Data: make([]byte, 16)}
		binary.LittleEndian.PutUint32(r.Data[4:], wofProviderFile)
		binary.LittleEndian.PutUint32(r.Data[12:], algo)
		err := r.wofError(1)
		if (algo == 7) != errors.Is(err, ErrUnsupported) {
			t.Errorf("format %d: %v", algo, err)
		}
	}
	wim := &Reparse{Tag: TagWOF, Data: make([]byte, 16)}
	binary.LittleEndian.PutUint32(wim.Data[4:], wofProviderWIM)
	if err := wim.wofError(1); !errors.Is(err, ErrUnsupported) {
		t.Errorf("WIM provider: %v", err)
	}
	if err := fmt.Errorf("x: %w", ErrDeduplicated); !errors.Is(err, ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Error("ErrDeduplicated does not match ErrUnsupported")
	}
	// A stream of table and chunks, damaged in every byte in turn.
	v := &Volume{wofChunks: newLRU[wofKey, []byte](4)}
	src := []byte("0123456789abcdef")
	stored := wimtest.RawWOF(bytes.Repeat(src, 512), 4096) // 8 KiB: two raw chunks
	for i := 0; i < len(stored); i += 97 {
		for _, b := range []byte{0, 0xFF, stored[i] ^ 1} {
			bad := bytes.Clone(stored)
			bad[i] = b
			v.wofChunks = newLRU[wofKey, []byte](4)
			w := &wofReader{v: v, data: &stream{isRes: true, res: bad, size: int64(len(bad))},
				size: 8192, chunk: 4096, algo: WofXpress4K, n: 2, es: 4, table: 4}
			out := make([]byte, 8192)
			if err := w.readAt(out, 0); err != nil && !errors.Is(err, ErrFormat) {
				t.Errorf("byte %d = %#x: %v", i, b, err)
			}
		}
	}
}

// TestWOFHostileParallel damages a real XPRESS4K stream of 256 chunks
// (wimlib's) and reads it whole, which decodes on several cores: errors
// are ErrFormat, never a panic or a hang.
func TestWOFHostileParallel(t *testing.T) {
	dir := t.TempDir()
	wimtest.Corpus(t, dir)
	r := wimtest.Capture(t, dir, "XPRESS", 4096)["mixed-1m.bin"]
	if !r.Compressed {
		t.Fatal("mixed-1m.bin stored raw")
	}
	want, err := os.ReadFile(filepath.Join(dir, "mixed-1m.bin"))
	if err != nil {
		t.Fatal(err)
	}
	n := (r.Size + 4095) / 4096
	read := func(stored []byte) ([]byte, error) {
		v := &Volume{wofChunks: newLRU[wofKey, []byte](4)}
		w := &wofReader{v: v, data: &stream{isRes: true, res: stored, size: int64(len(stored))},
			size: r.Size, chunk: 4096, algo: WofXpress4K, n: n, es: 4, table: (n - 1) * 4}
		out := make([]byte, r.Size)
		return out, w.readAt(out, 0)
	}
	if got, err := read(r.Stored); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("undamaged stream: %v", err)
	}
	for i := 0; i < len(r.Stored); i += len(r.Stored) / 100 {
		for _, b := range []byte{0, 0xFF, r.Stored[i] ^ 0x10} {
			bad := bytes.Clone(r.Stored)
			bad[i] = b
			if _, err := read(bad); err != nil && !errors.Is(err, ErrFormat) {
				t.Errorf("byte %d = %#x: %v", i, b, err)
			}
		}
	}
}
