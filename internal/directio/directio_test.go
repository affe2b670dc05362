package directio

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

func TestBufferAligned(t *testing.T) {
	for _, n := range []int{Align, 3 * Align, 4 << 20} {
		b := Buffer(n)
		if len(b) != n || cap(b) != n || uintptr(unsafe.Pointer(&b[0]))%Align != 0 {
			t.Errorf("Buffer(%d): len %d cap %d address %% %d = %d", n, len(b), cap(b), Align, uintptr(unsafe.Pointer(&b[0]))%Align)
		}
	}
}

func TestAligned(t *testing.T) {
	b := Buffer(2 * Align)
	for _, c := range []struct {
		p    []byte
		off  int64
		want bool
	}{
		{b, 0, true},
		{b, Align, true},
		{b, 512, false},
		{b[:Align+512], 0, false},
		{b[512 : 512+Align], 0, false},
		{b[:0], 0, false},
	} {
		if got := Aligned(c.p, c.off); got != c.want {
			t.Errorf("Aligned(len %d, off %d) = %v", len(c.p), c.off, got)
		}
	}
}

// TestMixedWrites writes aligned and unaligned pieces through both
// descriptors and reads the file back as a model says it must be.
func TestMixedWrites(t *testing.T) {
	name := filepath.Join(t.TempDir(), "out")
	plain, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f := New(plain, name)
	t.Logf("direct: %v", f.Direct())
	const size = 1 << 20
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	model := make([]byte, size)
	rng := rand.New(rand.NewSource(1))
	buf := Buffer(64 << 10)
	for i := 0; i < 200; i++ {
		var off, n int64
		if i%2 == 0 { // aligned: goes direct where possible
			n = Align * (1 + rng.Int63n(16))
			off = Align * rng.Int63n((size-n)/Align+1)
		} else {
			n = 1 + rng.Int63n(20000)
			off = rng.Int63n(size - n + 1)
		}
		p := buf[:n]
		rng.Read(p)
		if _, err := f.WriteAt(p, off); err != nil {
			t.Fatalf("write %d+%d: %v", off, n, err)
		}
		copy(model[off:], p)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, model) {
		t.Fatal("file differs from what was written")
	}
}
