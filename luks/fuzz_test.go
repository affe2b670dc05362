package luks

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzVolume feeds arbitrary headers to NewVolume and, for what it
// accepts, reads the data segment through a reader keyed with zeros (no
// key derivation: a hostile header may ask for minutes of it, which its
// bounds allow but a fuzzer cannot wait for).
func FuzzVolume(f *testing.F) {
	if dir := seedDir(); dir != "" {
		for _, name := range []string{"luks2-xts.img", "luks1-essiv.img"} {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				f.Add(b[:64<<10])
			}
		}
	}
	f.Add(buildLUKS1("x", make([]byte, 4096), 1))
	f.Add(append([]byte("LUKS\xba\xbe\x00\x01"), make([]byte, 600)...))
	f.Add(append([]byte("LUKS\xba\xbe\x00\x02"), make([]byte, 20000)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := NewVolume(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		key := make([]byte, 64)
		if v.Version == 1 {
			key = key[:v.keyBytes]
		}
		r, err := v.newReader(key, 0)
		if err != nil {
			return
		}
		buf := make([]byte, 9000)
		for _, off := range []int64{0, 511, r.Size() - 100} {
			_, _ = r.ReadAt(buf, off)
		}
	})
}

// seedDir is where the fixtures lie when a test built them.
func seedDir() string {
	dir := filepath.Join("..", "testdata", "out", "luks")
	if _, err := os.Stat(filepath.Join(dir, "luks1-essiv.img")); err != nil {
		return ""
	}
	return dir
}

// FuzzJSON feeds arbitrary LUKS2 metadata to the JSON reader, behind the
// header checksum that keeps FuzzVolume's mutations out of it.
func FuzzJSON(f *testing.F) {
	if dir := seedDir(); dir != "" {
		if b, err := os.ReadFile(filepath.Join(dir, "luks2-xts.img")); err == nil {
			js := b[4096:16384]
			if i := bytes.IndexByte(js, 0); i >= 0 {
				f.Add(js[:i])
			}
		}
	}
	f.Add([]byte(`{"keyslots":{},"segments":{"0":{"type":"crypt","offset":"4096","size":"dynamic","encryption":"aes-xts-plain64","sector_size":512}},"digests":{}}`))
	f.Fuzz(func(t *testing.T, js []byte) {
		v := &Volume{r: bytes.NewReader(make([]byte, 1<<20)), size: 1 << 20}
		if v.parseJSON(&header2{json: js}) != nil {
			return
		}
		if v.dataOff < 0 || v.dataSize < 0 || v.dataOff+v.dataSize > v.size {
			t.Fatalf("segment %d+%d outside %d bytes", v.dataOff, v.dataSize, v.size)
		}
	})
}
