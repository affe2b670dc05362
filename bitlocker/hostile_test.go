package bitlocker

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"testing"
)

// patched overlays byte patches on a reader: damaged copies of a real
// volume without writing to the sample.
type patched struct {
	r       io.ReaderAt
	patches []patch
}

type patch struct {
	off int64
	b   []byte
}

func (p *patched) ReadAt(b []byte, off int64) (int, error) {
	n, err := p.r.ReadAt(b, off)
	for _, q := range p.patches {
		lo, hi := max(off, q.off), min(off+int64(n), q.off+int64(len(q.b)))
		if lo < hi {
			copy(b[lo-off:hi-off], q.b[lo-q.off:hi-q.off])
		}
	}
	return n, err
}

// xtsSample returns the plain AES-XTS sample, open, with its description.
func xtsSample(t *testing.T) (sample, *os.File, int64) {
	t.Helper()
	for _, s := range loadSamples(t) {
		if s.name == "bitlk-aes-xts-128" {
			f, err := os.Open(s.path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			st, _ := f.Stat()
			return s, f, st.Size()
		}
	}
	t.Fatal("bitlk-aes-xts-128 is not in images.conf")
	return sample{}, nil, 0
}

func TestRecoveryPasswordRules(t *testing.T) {
	good := "235818-357951-253979-013365-241120-245575-342914-591910"
	if _, err := RecoveryPassword(good); err != nil {
		t.Fatalf("good password refused: %v", err)
	}
	if _, err := RecoveryPassword(strings.ReplaceAll(good, "-", "")); err != nil {
		t.Fatalf("good password without dashes refused: %v", err)
	}
	for _, c := range []struct{ in, want string }{
		{"", "48 digits in 8 groups"},
		{"235818-357951-253979-013365-241120-245575-342914", "48 digits in 8 groups"},
		{"235818-357951-253979-013365-241120-245575-342914-591911", "group 8 is not divisible by 11"},
		{"235818-357951-253979-013365-241120-245575-342914-720907", "group 8 is 720896 or more"},
		{"235818-357951-25397x-013365-241120-245575-342914-591910", "group 3 is not 6 digits"},
		{"235818+357951-253979-013365-241120-245575-342914-591910", "48 digits in 8 groups"},
	} {
		_, err := RecoveryPassword(c.in)
		if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want ErrBadKey saying %q", c.in, err, c.want)
		}
		if err != nil && len(c.in) >= 6 && strings.Contains(err.Error(), c.in[len(c.in)-6:]) {
			t.Errorf("%q: the error repeats the digits: %v", c.in, err)
		}
	}
}

func TestWrongKeys(t *testing.T) {
	s, f, size := xtsSample(t)
	v, err := NewVolume(f, size)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Unlock()
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "no key given") ||
		!strings.Contains(err.Error(), "password, recovery password") {
		t.Errorf("no key: %v", err)
	}
	rp, err := RecoveryPassword("000000-000000-000000-000000-000000-000000-000000-000011")
	if err != nil {
		t.Fatal(err)
	}
	bek, err := os.ReadFile(strings.Replace(s.path, "bitlk-aes-xts-128.img", "4381F759-C4F8-4DE0-BB61-FC33A831BDA5.BEK", 1))
	if err != nil {
		t.Fatal(err)
	}
	sk, err := StartupKey(bek) // a startup key of another volume
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Unlock(Password("not the password"), rp, sk)
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "none of the 3 keys") {
		t.Errorf("wrong keys: %v", err)
	}
	if _, err := StartupKey([]byte("not a key file, just some text of about forty bytes or more......")); !errors.Is(err, ErrBadKey) {
		t.Errorf("garbage .BEK: %v", err)
	}
	if _, err := StartupKey(bek[:60]); !errors.Is(err, ErrBadKey) {
		t.Errorf("cut .BEK: %v", err)
	}
}

// TestDamagedCopies damages metadata copies one after another: the next
// intact copy is used and the reason is recorded; with all three damaged
// the volume does not open, with a checksum error.
func TestDamagedCopies(t *testing.T) {
	s, f, size := xtsSample(t)
	v, err := NewVolume(f, size)
	if err != nil {
		t.Fatal(err)
	}
	if v.MetadataCopy != 0 {
		t.Fatalf("intact volume uses copy %d", v.MetadataCopy+1)
	}
	offs := v.MetadataOffsets
	p := &patched{r: f}
	for i := 0; i < 3; i++ {
		p.patches = append(p.patches, patch{offs[i] + 0x80, []byte{0xff}}) // inside the description
		v, err := NewVolume(p, size)
		if i == 2 {
			if !errors.Is(err, ErrChecksum) {
				t.Fatalf("all copies damaged: %v", err)
			}
			break
		}
		if err != nil {
			t.Fatalf("copies 1..%d damaged: %v", i+1, err)
		}
		if v.MetadataCopy != i+1 || !errors.Is(v.CopyErrors[i], ErrChecksum) {
			t.Fatalf("copies 1..%d damaged: used copy %d, errors %v", i+1, v.MetadataCopy+1, v.CopyErrors)
		}
		r, err := v.Unlock(Password(s.pw))
		if err != nil {
			t.Fatalf("unlock with copy %d: %v", v.MetadataCopy+1, err)
		}
		var b [512]byte
		if _, err := r.ReadAt(b[:], 0); err != nil {
			t.Fatal(err)
		}
	}
}

// TestForgedMetadata changes the description and fixes the CRC-32: the
// copy looks intact, but it no longer authenticates under the volume
// master key, so unlocking refuses it.
func TestForgedMetadata(t *testing.T) {
	s, f, size := xtsSample(t)
	v, err := NewVolume(f, size)
	if err != nil {
		t.Fatal(err)
	}
	off := v.MetadataOffsets[0]
	blk := make([]byte, len(v.md.block)+8)
	if _, err := f.ReadAt(blk, off); err != nil {
		t.Fatal(err)
	}
	n := len(v.md.block)
	blk[0x80] ^= 1
	binary.LittleEndian.PutUint32(blk[n+4:], crc32.ChecksumIEEE(blk[:n]))
	forged, err := NewVolume(&patched{r: f, patches: []patch{{off, blk}}}, size)
	if err != nil || forged.MetadataCopy != 0 {
		t.Fatalf("forged copy with a good CRC: %v, copy %d", err, forged.MetadataCopy+1)
	}
	if _, err := forged.Unlock(Password(s.pw)); !errors.Is(err, ErrChecksum) {
		t.Fatalf("forged copy unlocked: %v", err)
	}
}

// TestTruncated cuts the volume: before the first metadata copy it does
// not open; after it, it opens, and reads past the cut fail cleanly.
func TestTruncated(t *testing.T) {
	s, f, size := xtsSample(t)
	v, err := NewVolume(f, size)
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int64{0, 100, 512, 4096, v.MetadataOffsets[0] + 100} {
		if _, err := NewVolume(io.NewSectionReader(f, 0, cut), cut); err == nil {
			t.Errorf("cut at %d: opened", cut)
		}
	}
	// The size claims the whole volume, the file ends early.
	cut := v.MetadataOffsets[2] + areaLen + 1<<20
	short, err := NewVolume(io.NewSectionReader(f, 0, cut), size)
	if err != nil {
		t.Fatalf("cut after the copies: %v", err)
	}
	r, err := short.Unlock(Password(s.pw))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	if _, err := r.ReadAt(buf, cut-4096); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read across the cut: %v", err)
	}
	if _, err := r.ReadAt(buf, size); err != io.EOF {
		t.Errorf("read at the end: %v", err)
	}
}

// TestNotBitLocker: a zeroed volume and a plain FAT32 boot sector with
// "MSWIN4.1" are not BitLocker.
func TestNotBitLocker(t *testing.T) {
	zero := make([]byte, 1<<20)
	if _, err := NewVolume(&patched{r: zeroReader{}}, int64(len(zero))); !errors.Is(err, ErrNotBitLocker) {
		t.Errorf("zeros: %v", err)
	}
	fat := &patched{r: zeroReader{}, patches: []patch{{0, []byte("\xeb\x58\x90MSWIN4.1")}}}
	if Detect(fat, 1<<20) {
		t.Error("a FAT32 boot sector was taken for BitLocker To Go")
	}
}

type zeroReader struct{}

func (zeroReader) ReadAt(b []byte, _ int64) (int, error) { clear(b); return len(b), nil }
