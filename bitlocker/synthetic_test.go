package bitlocker

import (
	"bytes"
	"fmt"
	"testing"
)

// synthSpecs covers every method and generation the samples lack.
var synthSpecs = []volSpec{
	{kind: KindWindows7, method: AESXTS256, sectorSize: 512, startup: true, seed: 1},
	{kind: KindWindows7, method: AESXTS256, sectorSize: 4096, clearKey: true, seed: 2},
	{kind: KindWindows7, method: AESCBC256, sectorSize: 512, clearKey: true, seed: 3},
	{kind: KindWindows7, method: AESCBC256Elephant, sectorSize: 512, clearKey: true, seed: 4},
	{kind: KindWindows7, method: AESCBC128Elephant, sectorSize: 4096, clearKey: true, seed: 5},
	{kind: KindToGo, method: AESXTS128, sectorSize: 512, startup: true, seed: 6},
	{kind: KindVista, method: AESCBC128Elephant, sectorSize: 512, clearKey: true, seed: 7},
	{kind: KindVista, method: AESCBC256, sectorSize: 512, clearKey: true, seed: 8},
	// Conversion paused at 2.5 MiB, then running with a scratch area.
	{kind: KindWindows7, method: AESXTS128, sectorSize: 512, clearKey: true, encrypted: 5 << 19, state: StatePaused, seed: 9},
	{kind: KindWindows7, method: AESXTS128, sectorSize: 4096, clearKey: true, encrypted: 5 << 19, state: StateSwitching, convert: 64 << 10, seed: 10},
}

func (s volSpec) name() string {
	n := fmt.Sprintf("%v-%v-%d", s.kind, s.method, s.sectorSize)
	if s.encrypted != 0 {
		n += fmt.Sprintf("-%v-at-%d", s.state, s.encrypted)
	}
	return n
}

// TestSynthetic unlocks each built volume with each of its protectors and
// compares the decrypted view with the plaintext it was built from.
func TestSynthetic(t *testing.T) {
	for _, spec := range synthSpecs {
		t.Run(spec.name(), func(t *testing.T) {
			bv := buildVolume(t, spec)
			v, err := NewVolume(bytes.NewReader(bv.img), int64(len(bv.img)))
			if err != nil {
				t.Fatal(err)
			}
			if v.Kind != spec.kind || v.Method != spec.method || v.SectorSize != spec.sectorSize {
				t.Fatalf("read as %v %v %d", v.Kind, v.Method, v.SectorSize)
			}
			for what, k := range bv.keys(t) {
				var r *Reader
				if what == "clear key" {
					r, err = v.Unlock()
				} else {
					r, err = v.Unlock(k)
				}
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if r.Protector.Type.String() != what {
					t.Errorf("%s: opened by %v", what, r.Protector.Type)
				}
				got := make([]byte, len(bv.want))
				if _, err := r.ReadAt(got, 0); err != nil {
					t.Fatal(err)
				}
				if i := firstDiff(got, bv.want); i >= 0 {
					t.Fatalf("%s: decrypted view differs at byte %d", what, i)
				}
			}
		})
	}
}

// TestConversionBoundary reads across the end of the encrypted part one
// sector at a time and in one piece.
func TestConversionBoundary(t *testing.T) {
	bv := buildVolume(t, synthSpecs[8])
	v, err := NewVolume(bytes.NewReader(bv.img), int64(len(bv.img)))
	if err != nil {
		t.Fatal(err)
	}
	if v.EncryptedSize != 5<<19 || v.State != StatePaused {
		t.Fatalf("encrypted size %d, state %v", v.EncryptedSize, v.State)
	}
	r, err := v.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	b := v.EncryptedSize
	for _, span := range [][2]int64{{b - 512, 1024}, {b - 100, 200}, {b - 3*512, 7 * 512}} {
		got := make([]byte, span[1])
		if _, err := r.ReadAt(got, span[0]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, bv.want[span[0]:span[0]+span[1]]) {
			t.Errorf("bytes %d+%d across the boundary differ", span[0], span[1])
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return len(a)
	}
	return -1
}
