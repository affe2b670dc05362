package vhdx

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzVHDOpen opens arbitrary bytes as a VHD and reads every block and
// bitmap. Nothing may panic or hang; faults must wrap a package sentinel;
// footers and headers that decode must survive encode → decode.
func FuzzVHDOpen(f *testing.F) {
	dyn, diff, fixed := vhdTestImages(f)
	for _, b := range [][]byte{dyn, diff, fixed, dyn[:len(dyn)-700],
		messWith(dyn, func(b []byte) []byte { return vhdSetBAT(b, 1, 0x7fffffff) }),
		messWith(diff, func(b []byte) []byte {
			return vhdSetHeader(b, func(h *vhdDynHeader) { h.Locators[0].DataLength = 0xffff })
		}),
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkOpenRanges(b[:min(len(b), HeadSize)], int64(len(b)))
		vhdFuzzRoundTrip(t, b)
		vhdFuzzOpen(t, b)
		// Checksums stop almost every mutation at the footer; fixing them
		// lets the fuzzer reach the header, BAT and locator checks.
		vhdFuzzOpen(t, vhdFuzzFixChecksums(b))
	})
}

// vhdFuzzOpen opens b and reads every block's state, bitmap and last sector.
// Checksums are ignored on every other input length, so that the
// tolerant path sees the same hostile data as the strict one.
func vhdFuzzOpen(t *testing.T, b []byte) {
	d, err := newVHD(bytes.NewReader(b), int64(len(b)), DiskOptions{IgnoreChecksums: len(b)%2 == 1})
	if err != nil {
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		return
	}
	if d.BlockSize <= 0 || d.VirtualSize < 0 || d.Blocks() > int64(len(b)) {
		t.Fatalf("block size %d, virtual size %d, %d blocks for %d bytes", d.BlockSize, d.VirtualSize, d.Blocks(), len(b))
	}
	buf := make([]byte, vhdSector)
	for i := range d.Blocks() {
		st, off := d.BlockInfo(i)
		if _, err := d.SectorBitmap(i); err != nil && st != BlockInvalid {
			t.Fatalf("block %d (%v): bitmap: %v", i, st, err)
		}
		if st == BlockPresent || st == BlockPartial {
			n := min(d.BlockSize, d.VirtualSize-i*d.BlockSize)
			if _, err := d.ReadFileAt(buf, off+n-vhdSector); err != nil {
				t.Fatalf("block %d (%v) at 0x%x: last sector unreadable: %v", i, st, off, err)
			}
		}
	}
}

// vhdFuzzFixChecksums returns a copy of b whose end footer, footer copy and
// dynamic header (when present) carry good checksums.
func vhdFuzzFixChecksums(b []byte) []byte {
	b = bytes.Clone(b)
	if len(b) < vhdFooterSize {
		return b
	}
	f, ok := decodeVHDFooter(b[len(b)-vhdFooterSize:])
	if !ok {
		return b
	}
	enc := f.encode()
	copy(b[len(b)-vhdFooterSize:], enc)
	if bytes.Equal(b[:8], vhdFooterCookie) {
		copy(b, enc)
	}
	if f.DataOffset < uint64(len(b)) && uint64(len(b))-f.DataOffset >= vhdDynHeaderSize {
		if h, ok := decodeVHDDynHeader(b[f.DataOffset:]); ok {
			copy(b[f.DataOffset:], h.encode())
		}
	}
	return b
}

// vhdFuzzRoundTrip checks decode → encode → decode on whatever footer and
// dynamic header the bytes hold.
func vhdFuzzRoundTrip(t *testing.T, b []byte) {
	if len(b) < vhdFooterSize {
		return
	}
	if f, ok := decodeVHDFooter(b[len(b)-vhdFooterSize:]); ok {
		want := f
		enc := f.encode()
		want.Checksum = f.Checksum
		if g, ok := decodeVHDFooter(enc); !ok || g != want || !g.checksumOK(enc) {
			t.Fatalf("footer round trip: %+v became %+v", want, g)
		}
	}
	if len(b) >= vhdFooterSize+vhdDynHeaderSize {
		if h, ok := decodeVHDDynHeader(b[vhdFooterSize:]); ok {
			want := h
			enc := h.encode()
			want.Checksum = h.Checksum
			if g, ok := decodeVHDDynHeader(enc); !ok || g != want || !g.checksumOK(enc) {
				t.Fatalf("header round trip: %+v became %+v", want, g)
			}
		}
	}
}

// BenchmarkVHDOpen measures opening a 64 MiB dynamic VHD with 4 KiB blocks
// (16384 BAT entries) held in memory.
func BenchmarkVHDOpen(b *testing.B) {
	img, err := buildVHD(vhdCreateOptions{Type: TypeDynamic, Size: 64 << 20, BlockSize: 4096,
		Writes: []vhdWrite{{0, make([]byte, 4096)}}})
	if err != nil {
		b.Fatal(err)
	}
	r := bytes.NewReader(img)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := newVHD(r, int64(len(img)), DiskOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
