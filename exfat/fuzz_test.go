//go:build linux

package exfat

import (
	"encoding/binary"
	"io"
	"io/fs"
	"os"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// fuzzVolSize is the size of the volume a fuzz input describes: the tiny
// image's.
const fuzzVolSize = 256 << 10

// sparseVolume is a fuzz input read as a volume: records of a big-endian
// 16-bit sector number and 512 bytes, over zeros, so that the fuzzer
// mutates the few sectors that hold something.
type sparseVolume map[int64][]byte

func decodeSparse(b []byte) sparseVolume {
	v := sparseVolume{}
	for len(b) >= 2+512 {
		sec := int64(binary.BigEndian.Uint16(b)) % (fuzzVolSize / 512)
		v[sec] = b[2 : 2+512]
		b = b[2+512:]
	}
	return v
}

func (v sparseVolume) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= fuzzVolSize {
			return n, io.EOF
		}
		sec, in := pos/512, int(pos%512)
		k := min(512-in, len(p)-n)
		if s, ok := v[sec]; ok {
			copy(p[n:n+k], s[in:])
		} else {
			clear(p[n : n+k])
		}
		n += k
	}
	return n, nil
}

// encodeSparse keeps the non-zero sectors of an image.
func encodeSparse(img []byte) []byte {
	var out []byte
	for off := 0; off+512 <= len(img) && off < fuzzVolSize; off += 512 {
		s := img[off : off+512]
		for _, c := range s {
			if c != 0 {
				out = binary.BigEndian.AppendUint16(out, uint16(off/512))
				out = append(out, s...)
				break
			}
		}
	}
	return out
}

// FuzzExFAT opens fuzzed volumes and reads everything it reaches: every
// listing, file, extent map and case-insensitive lookup. No input may
// panic, hang or allocate without bound.
func FuzzExFAT(f *testing.F) {
	if os.Geteuid() == 0 {
		if img, err := os.ReadFile(testutil.OutDir("exfat") + "/tiny.img"); err == nil {
			f.Add(encodeSparse(img))
		} else if testing.Short() == false {
			if img, err := os.ReadFile(fixture(f, "tiny")); err == nil {
				f.Add(encodeSparse(img))
			}
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		sv := decodeSparse(data)
		fuzzVolume(t, sv)
		// Most mutations of the boot sector fail its checksum: fix it, so
		// that the geometry checks and what lies behind them are reached.
		region := make([]byte, 12*512)
		sv.ReadAt(region, 0)
		setBootChecksum(region, 512)
		sv[11] = region[11*512:]
		fuzzVolume(t, sv)
	})
}

// fuzzVolume opens a fuzzed volume and reads everything it reaches.
func fuzzVolume(t *testing.T, sv sparseVolume) {
	v, err := New(sv, fuzzVolSize)
	if err != nil {
		return
	}
	_ = v.Label()
	_, _, _ = v.Usage()
	n := 0
	_ = fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if n++; err != nil || n > 500 {
			return fs.SkipDir
		}
		if _, err := v.ResolveFold(p); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		if d.IsDir() {
			return nil
		}
		f, err := v.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		ef := f.(*File)
		exts, _, _ := ef.Extents()
		var at int64
		for _, e := range exts {
			if e.FileOff != at || e.Len <= 0 || e.VolOff < 0 || e.VolOff+e.Len > fuzzVolSize {
				t.Fatalf("%s: extent %+v after %d bytes", p, e, at)
			}
			at = e.FileOff + e.Len
		}
		buf := make([]byte, 64<<10)
		for off := int64(0); off < ef.Size() && off < 1<<20; off += int64(len(buf)) {
			if _, err := ef.ReadAt(buf, off); err != nil && err != io.EOF {
				break
			}
		}
		return nil
	})
}
