// Package wimtest builds compressed data for decoder tests with wimlib's
// own compressors: it captures a directory into a WIM file with
// wimcapture and returns each file's resource as stored there. A non-solid
// WIM resource has the layout of a Windows Overlay Filter
// WofCompressedData stream: a table of chunk end offsets (4-byte entries,
// 8-byte ones past 4 GiB) for every chunk but the first, then the chunks,
// each stored raw when compressing it did not make it smaller.
package wimtest

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// Resource is one file's data as wimlib stored it.
type Resource struct {
	Stored     []byte // the bytes in the WIM: chunk table and chunks
	Size       int64  // uncompressed size
	Compressed bool   // false: wimlib stored the data raw, without a table
}

const (
	flagMetadata   = 0x02
	flagCompressed = 0x04
	flagSolid      = 0x10
	entrySize      = 50
)

// Capture runs wimcapture over dir with the given compression ("XPRESS",
// "LZX") and chunk size, and returns the resource of every regular file of
// dir by its path relative to dir. It skips (fails in CI) without wimlib.
func Capture(t testing.TB, dir, compress string, chunk int) map[string]Resource {
	t.Helper()
	testutil.NeedTool(t, "wimcapture")
	wim := filepath.Join(t.TempDir(), "c.wim")
	cmd := exec.Command("wimcapture", dir, wim, "--compress="+compress,
		fmt.Sprintf("--chunk-size=%d", chunk), "--no-acls", "--threads=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wimcapture: %v\n%s", err, out)
	}
	img, err := os.ReadFile(wim)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blobTable(img)
	if err != nil {
		t.Fatal(err)
	}
	res := map[string]Resource{}
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil || len(data) == 0 {
			return err
		}
		r, ok := blobs[sha1.Sum(data)]
		if !ok {
			return fmt.Errorf("%s: no blob in the WIM", p)
		}
		rel, _ := filepath.Rel(dir, p)
		res[rel] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// blobTable reads the WIM header's blob (lookup) table and returns the
// non-metadata resources by SHA-1.
func blobTable(img []byte) (map[[20]byte]Resource, error) {
	if len(img) < 208 || !bytes.HasPrefix(img, []byte("MSWIM\x00\x00\x00")) {
		return nil, fmt.Errorf("not a WIM file")
	}
	tsize, _, toff, _ := reshdr(img[48:])
	if toff+tsize > int64(len(img)) {
		return nil, fmt.Errorf("blob table past the end")
	}
	table := img[toff : toff+tsize]
	blobs := map[[20]byte]Resource{}
	for len(table) >= entrySize {
		e := table[:entrySize]
		table = table[entrySize:]
		size, flags, off, orig := reshdr(e)
		if flags&flagMetadata != 0 {
			continue
		}
		if flags&flagSolid != 0 {
			return nil, fmt.Errorf("solid resource")
		}
		if off+size > int64(len(img)) {
			return nil, fmt.Errorf("resource past the end")
		}
		var h [20]byte
		copy(h[:], e[30:50])
		blobs[h] = Resource{Stored: img[off : off+size], Size: orig, Compressed: flags&flagCompressed != 0}
	}
	return blobs, nil
}

func reshdr(b []byte) (size int64, flags byte, off, orig int64) {
	v := binary.LittleEndian.Uint64(b)
	return int64(v & (1<<56 - 1)), byte(v >> 56), int64(binary.LittleEndian.Uint64(b[8:])), int64(binary.LittleEndian.Uint64(b[16:]))
}

// Chunks splits a compressed resource into its chunks: each chunk's stored
// bytes and uncompressed size.
func Chunks(r Resource, chunk int) (stored [][]byte, sizes []int, err error) {
	if !r.Compressed {
		return nil, nil, fmt.Errorf("resource stored raw")
	}
	n := int((r.Size + int64(chunk) - 1) / int64(chunk))
	es := 4
	if r.Size > 1<<32-1 {
		es = 8
	}
	tbl := (n - 1) * es
	if tbl > len(r.Stored) {
		return nil, nil, fmt.Errorf("chunk table past the end")
	}
	ends := make([]int64, 0, n)
	for i := 0; i < n-1; i++ {
		if es == 4 {
			ends = append(ends, int64(binary.LittleEndian.Uint32(r.Stored[i*4:])))
		} else {
			ends = append(ends, int64(binary.LittleEndian.Uint64(r.Stored[i*8:])))
		}
	}
	ends = append(ends, int64(len(r.Stored)-tbl))
	start := int64(0)
	for i, e := range ends {
		if e < start || int64(tbl)+e > int64(len(r.Stored)) {
			return nil, nil, fmt.Errorf("chunk %d: bad end offset", i)
		}
		stored = append(stored, r.Stored[int64(tbl)+start:int64(tbl)+e])
		size := chunk
		if i == n-1 {
			size = int(r.Size - int64(i)*int64(chunk))
		}
		sizes = append(sizes, size)
		start = e
	}
	return stored, sizes, nil
}

// Corpus writes files meant to exercise a compressor into dir: text, runs,
// random bytes, x86-like code with 0xE8 call bytes, sizes around chunk
// boundaries. It is deterministic.
func Corpus(t testing.TB, dir string) {
	t.Helper()
	rnd := uint64(0x9E3779B97F4A7C15)
	next := func() byte {
		rnd ^= rnd << 13
		rnd ^= rnd >> 7
		rnd ^= rnd << 17
		return byte(rnd)
	}
	text := func(n int) []byte {
		words := []string{"the ", "volume ", "checkpoint ", "NTFS ", "Windows ", "a ", "of ", "compressed ", "\n", "chunk ", "0123456789 "}
		var b bytes.Buffer
		for b.Len() < n {
			b.WriteString(words[int(next())%len(words)])
		}
		return b.Bytes()[:n]
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = next()
		}
		return b
	}
	code := func(n int) []byte {
		b := make([]byte, n)
		for i := 0; i < n; {
			if next()%4 == 0 && i+5 <= n {
				b[i] = 0xE8
				binary.LittleEndian.PutUint32(b[i+1:], uint32(int32(next()%64)-32)*0x100+uint32(next()))
				i += 5
				continue
			}
			b[i] = "\x55\x89\xe5\x83\xec\x08\x8b\x45\x08\xc3"[int(next())%10]
			i++
		}
		return b
	}
	mixed := func(n int) []byte {
		var b []byte
		for len(b) < n {
			switch next() % 4 {
			case 0:
				b = append(b, text(3000)...)
			case 1:
				b = append(b, random(1500)...)
			case 2:
				b = append(b, make([]byte, 5000)...)
			default:
				b = append(b, code(4000)...)
			}
		}
		return b[:n]
	}
	files := map[string][]byte{
		"tiny.txt":      []byte("hello, world\n"),
		"text-4095.txt": text(4095), "text-4096.txt": text(4096), "text-4097.txt": text(4097),
		"text-100k.txt": text(100000),
		"random-9000":   random(9000),
		"random-70000":  random(70000),
		"zeros-65536":   make([]byte, 65536),
		"code-200k.exe": code(200000),
		"mixed-1m.bin":  mixed(1 << 20),
		"mixed-33000":   mixed(33000),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
