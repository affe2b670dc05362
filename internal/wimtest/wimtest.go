// Package wimtest builds compressed data for decoder tests with wimlib's
// own compressors (through package internal/wim): it captures a directory
// into a WIM file with wimcapture and returns each file's resource as
// stored there, which has the layout of a Windows Overlay Filter stream.
package wimtest

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/internal/wim"
)

// Resource is one file's data as wimlib stored it.
type Resource = wim.Resource

// Capture runs wimcapture over dir with the given compression ("XPRESS",
// "LZX") and chunk size, and returns the resource of every regular file of
// dir by its path relative to dir. It skips (fails in CI) without wimlib.
func Capture(t testing.TB, dir, compress string, chunk int) map[string]Resource {
	t.Helper()
	testutil.NeedTool(t, "wimcapture")
	res, err := wim.Capture(dir, filepath.Join(t.TempDir(), "c.wim"), compress, chunk)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Chunks splits a compressed resource into its chunks: each chunk's stored
// bytes and uncompressed size.
func Chunks(r Resource, chunk int) (stored [][]byte, sizes []int, err error) {
	return wim.Chunks(r, chunk)
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
