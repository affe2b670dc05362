package vhdx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

// Small images the hostile variants start from; all made by buildVHD, so
// the layout is known: footer copy at 0, dynamic header at 512, BAT at 1536.
func vhdTestImages(t testing.TB) (dyn, diff, fixed []byte) {
	t.Helper()
	pat := bytes.Repeat([]byte{0x5a}, 1024)
	var err error
	dyn, err = buildVHD(vhdCreateOptions{Type: TypeDynamic, Size: 64 << 10, BlockSize: 4096,
		Writes: []vhdWrite{{0, pat}, {40 << 10, pat[:512]}}})
	if err != nil {
		t.Fatal(err)
	}
	diff, err = buildVHD(vhdCreateOptions{Type: TypeDifferencing, Size: 64 << 10, BlockSize: 4096,
		Parent: &vhdParentSpec{ID: NewGUID(), Name: "p.vhd", RelativePath: `.\p.vhd`, AbsolutePath: `C:\p.vhd`},
		Writes: []vhdWrite{{8192, pat}}})
	if err != nil {
		t.Fatal(err)
	}
	fixed, err = buildVHD(vhdCreateOptions{Type: TypeFixed, Size: 8192, Writes: []vhdWrite{{512, pat}}})
	if err != nil {
		t.Fatal(err)
	}
	return dyn, diff, fixed
}

// messWith returns a changed copy of img.
func messWith(img []byte, mess func(b []byte) []byte) []byte {
	return mess(bytes.Clone(img))
}

// vhdSetFooter changes the footer and writes it, with a good checksum, at
// the end and (unless the disk is fixed) at 0.
func vhdSetFooter(b []byte, change func(*vhdFooter)) []byte {
	f, _ := decodeVHDFooter(b[len(b)-vhdFooterSize:])
	change(&f)
	enc := f.encode()
	copy(b[len(b)-vhdFooterSize:], enc)
	if bytes.Equal(b[:8], vhdFooterCookie) {
		copy(b, enc)
	}
	return b
}

// vhdSetHeader changes the dynamic header at 512 and fixes its checksum.
func vhdSetHeader(b []byte, change func(*vhdDynHeader)) []byte {
	h, _ := decodeVHDDynHeader(b[vhdCreateHeaderOff:])
	change(&h)
	copy(b[vhdCreateHeaderOff:], h.encode())
	return b
}

// vhdSetBAT sets BAT entry i.
func vhdSetBAT(b []byte, i int, v uint32) []byte {
	binary.BigEndian.PutUint32(b[vhdCreateBATOff+4*i:], v)
	return b
}

func flipByte(off int) func([]byte) []byte {
	return func(b []byte) []byte {
		if off < 0 {
			off += len(b)
		}
		b[off] ^= 0x40
		return b
	}
}

func TestVHDHostile(t *testing.T) {
	dyn, diff, fixed := vhdTestImages(t)
	random := make([]byte, 8192)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	// The last block (512-byte bitmap, 4 KiB data) ends where the footer starts.
	lastBlockSector := uint32((len(dyn) - vhdFooterSize - 512 - 4096) / vhdSector)
	for _, tc := range []struct {
		name     string
		img      []byte
		openErr  error // nil: opens
		readErr  error // nil: reads
		warnings bool  // expect Warnings
	}{
		{"dynamic ok", dyn, nil, nil, false},
		{"differencing ok", diff, nil, nil, false},
		{"fixed ok", fixed, nil, nil, false},
		// Before Virtual PC 2004 the footer was 511 bytes long.
		{"511-byte footer, fixed", fixed[:len(fixed)-1], nil, nil, false},
		{"511-byte footer, dynamic", dyn[:len(dyn)-1], nil, nil, false},
		{"zero length", nil, ErrFormat, nil, false},
		{"100 bytes", dyn[:100], ErrFormat, nil, false},
		{"random bytes", random, ErrFormat, nil, false},
		{"zeros", make([]byte, 4096), ErrFormat, nil, false},
		{"end footer bad checksum", messWith(dyn, flipByte(-500)), nil, nil, true},
		{"both footers bad checksum", messWith(dyn, func(b []byte) []byte {
			return flipByte(12)(flipByte(-500)(b))
		}), ErrChecksum, nil, false},
		{"copy at 0 bad checksum", messWith(dyn, flipByte(12)), nil, nil, true},
		{"fixed footer bad checksum", messWith(fixed, flipByte(-500)), ErrChecksum, nil, false},
		{"truncated: end footer gone", dyn[:len(dyn)-700], nil, ErrFormat, true},
		{"truncated: fixed", fixed[:len(fixed)-600], ErrFormat, nil, false},
		{"disk type 5", messWith(dyn, func(b []byte) []byte {
			return vhdSetFooter(b, func(f *vhdFooter) { f.DiskType = 5 })
		}), ErrFormat, nil, false},
		{"version 2", messWith(dyn, func(b []byte) []byte {
			return vhdSetFooter(b, func(f *vhdFooter) { f.Version = 0x00020000 })
		}), ErrUnsupported, nil, false},
		{"size not whole sectors", messWith(dyn, func(b []byte) []byte {
			return vhdSetFooter(b, func(f *vhdFooter) { f.CurrentSize += 100 })
		}), ErrFormat, nil, false},
		{"size huge", messWith(dyn, func(b []byte) []byte {
			return vhdSetFooter(b, func(f *vhdFooter) { f.CurrentSize = 1 << 62 })
		}), ErrFormat, nil, false},
		{"fixed size past file", messWith(fixed, func(b []byte) []byte {
			return vhdSetFooter(b, func(f *vhdFooter) { f.CurrentSize += 512 })
		}), ErrFormat, nil, false},
		{"header offset past EOF", messWith(dyn, func(b []byte) []byte {
			return vhdSetFooter(b, func(f *vhdFooter) { f.DataOffset = uint64(len(b)) - 100 })
		}), ErrFormat, nil, false},
		{"header offset all ones", messWith(dyn, func(b []byte) []byte {
			return vhdSetFooter(b, func(f *vhdFooter) { f.DataOffset = vhdNoOffset })
		}), ErrFormat, nil, false},
		{"header bad cookie", messWith(dyn, flipByte(vhdCreateHeaderOff+1)), ErrFormat, nil, false},
		{"header bad checksum", messWith(dyn, flipByte(vhdCreateHeaderOff+30)), ErrChecksum, nil, false},
		{"block size 0", messWith(dyn, func(b []byte) []byte {
			return vhdSetHeader(b, func(h *vhdDynHeader) { h.BlockSize = 0 })
		}), ErrFormat, nil, false},
		{"block size 3000", messWith(dyn, func(b []byte) []byte {
			return vhdSetHeader(b, func(h *vhdDynHeader) { h.BlockSize = 3000 })
		}), ErrFormat, nil, false},
		{"block size 2 GiB", messWith(dyn, func(b []byte) []byte {
			return vhdSetHeader(b, func(h *vhdDynHeader) { h.BlockSize = 1 << 31 })
		}), ErrFormat, nil, false},
		{"BAT past EOF", messWith(dyn, func(b []byte) []byte {
			return vhdSetHeader(b, func(h *vhdDynHeader) { h.TableOffset = uint64(len(b)) - 8 })
		}), ErrFormat, nil, false},
		{"BAT offset all ones", messWith(dyn, func(b []byte) []byte {
			return vhdSetHeader(b, func(h *vhdDynHeader) { h.TableOffset = vhdNoOffset })
		}), ErrFormat, nil, false},
		{"max table entries too few", messWith(dyn, func(b []byte) []byte {
			return vhdSetHeader(b, func(h *vhdDynHeader) { h.MaxTableEntries = 3 })
		}), ErrFormat, nil, false},
		{"max table entries for a huge disk", messWith(dyn, func(b []byte) []byte {
			b = vhdSetFooter(b, func(f *vhdFooter) { f.CurrentSize = 1 << 46 })
			return vhdSetHeader(b, func(h *vhdDynHeader) { h.MaxTableEntries = 0xffffffff })
		}), ErrFormat, nil, false},
		{"BAT of a huge disk past EOF", messWith(dyn, func(b []byte) []byte {
			b = vhdSetFooter(b, func(f *vhdFooter) { f.CurrentSize = 1 << 40 })
			return vhdSetHeader(b, func(h *vhdDynHeader) { h.MaxTableEntries = 0xffffffff })
		}), ErrFormat, nil, false},
		{"BAT entry past EOF", messWith(dyn, func(b []byte) []byte {
			return vhdSetBAT(b, 0, 0x7fffffff)
		}), nil, ErrFormat, true},
		{"BAT entry 0", messWith(dyn, func(b []byte) []byte {
			return vhdSetBAT(b, 0, 0)
		}), nil, ErrFormat, true},
		{"bitmap past EOF", messWith(dyn, func(b []byte) []byte {
			return vhdSetBAT(b, 0, uint32(len(b)/vhdSector))
		}), nil, ErrFormat, true},
		{"block overlaps footer", messWith(dyn, func(b []byte) []byte {
			return vhdSetBAT(b, 0, lastBlockSector+1)
		}), nil, ErrFormat, true},
		{"locator offset past EOF", messWith(diff, func(b []byte) []byte {
			return vhdSetHeader(b, func(h *vhdDynHeader) { h.Locators[0].DataOffset = uint64(len(b)) })
		}), ErrFormat, nil, false},
		{"locator offset all ones", messWith(diff, func(b []byte) []byte {
			return vhdSetHeader(b, func(h *vhdDynHeader) { h.Locators[1].DataOffset = vhdNoOffset })
		}), ErrFormat, nil, false},
		{"locator length huge", messWith(diff, func(b []byte) []byte {
			return vhdSetHeader(b, func(h *vhdDynHeader) { h.Locators[0].DataLength = 0xffffffff })
		}), ErrFormat, nil, false},
		{"locator length past EOF", messWith(diff, func(b []byte) []byte {
			return vhdSetHeader(b, func(h *vhdDynHeader) { h.Locators[1].DataLength = 60000 })
		}), ErrFormat, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := vhdOpenBytes(tc.img)
			if tc.openErr != nil {
				if !errors.Is(err, tc.openErr) {
					t.Fatalf("open: got %v, want %v", err, tc.openErr)
				}
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Errorf("open error %v is not a *FormatError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			if got := len(d.Warnings) > 0; got != tc.warnings {
				t.Errorf("warnings %q, want some: %v", d.Warnings, tc.warnings)
			}
			_, err = vhdReadLayers(d)
			if tc.readErr == nil && err != nil || tc.readErr != nil && !errors.Is(err, tc.readErr) {
				t.Errorf("read: got %v, want %v", err, tc.readErr)
			}
		})
	}
}

// TestVHDNotAVHD checks the error NewDisk gives for files of another kind.
func TestVHDNotAVHD(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte("x"), 5000)} {
		_, err := NewDisk(bytes.NewReader(b), int64(len(b)))
		var fe *FormatError
		if !errors.Is(err, ErrFormat) || !errors.As(err, &fe) || !bytes.Contains([]byte(fe.What), []byte("no VHD footer (conectix) and no VHDX signature")) {
			t.Errorf("%d bytes: got %v", len(b), err)
		}
	}
}

// TestVHDRoundTrip decodes, encodes and decodes again every structure of
// the built images and checks that nothing changes; for the images this
// package writes, encoding gives back the exact bytes.
func TestVHDRoundTrip(t *testing.T) {
	dyn, diff, fixed := vhdTestImages(t)
	for name, img := range map[string][]byte{"dynamic": dyn, "differencing": diff, "fixed": fixed} {
		t.Run(name, func(t *testing.T) {
			fb := img[len(img)-vhdFooterSize:]
			f, ok := decodeVHDFooter(fb)
			if !ok || !f.checksumOK(fb) {
				t.Fatal("footer does not decode")
			}
			f2 := f
			if enc := f2.encode(); !bytes.Equal(enc, fb) || f2 != f {
				t.Errorf("footer round trip differs")
			}
			if f.DiskType == vhdTypeFixed {
				return
			}
			hb := img[f.DataOffset : f.DataOffset+vhdDynHeaderSize]
			h, ok := decodeVHDDynHeader(hb)
			if !ok || !h.checksumOK(hb) {
				t.Fatal("header does not decode")
			}
			h2 := h
			if enc := h2.encode(); !bytes.Equal(enc, hb) || h2 != h {
				t.Errorf("dynamic header round trip differs")
			}
			d, err := vhdOpenBytes(img)
			if err != nil {
				t.Fatal(err)
			}
			m := d.blocks.(*vhdDynamicMap)
			batBytes := encodeVHDBAT(m.bat)
			if !bytes.Equal(batBytes, img[h.TableOffset:h.TableOffset+uint64(len(batBytes))]) {
				t.Errorf("BAT round trip differs")
			}
			for _, l := range h.Locators {
				if !l.used() {
					continue
				}
				data := img[l.DataOffset : l.DataOffset+uint64(l.DataLength)]
				text := decodeVHDLocatorData(l.Code, data)
				if !bytes.Equal(encodeVHDLocatorData(l.Code, text), data) {
					t.Errorf("locator %q round trip differs", l.Code[:])
				}
			}
		})
	}
}

// TestVHDRoundTripSamples re-encodes the footers and headers of the real
// images: the decoded values must survive (reserved bytes may not).
func TestVHDRoundTripSamples(t *testing.T) {
	for _, s := range []string{"dynamic.vhd.gz", "hyperv2012r2-dynamic.vhd.bz2", "virtualpc-dynamic.vhd.bz2"} {
		t.Run(s, func(t *testing.T) {
			name := vhdSample(t, s)
			d, err := OpenDisk(name)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			b := make([]byte, vhdFooterSize)
			if _, err := d.ReadFileAt(b, d.FileSize-vhdFooterSize); err != nil {
				t.Fatal(err)
			}
			f, _ := decodeVHDFooter(b)
			f2 := f
			if g, ok := decodeVHDFooter(f2.encode()); !ok || g != f {
				t.Errorf("footer: %+v became %+v", f, g)
			}
			hb := make([]byte, vhdDynHeaderSize)
			if _, err := d.ReadFileAt(hb, int64(f.DataOffset)); err != nil {
				t.Fatal(err)
			}
			h, _ := decodeVHDDynHeader(hb)
			h2 := h
			if g, ok := decodeVHDDynHeader(h2.encode()); !ok || g != h {
				t.Errorf("header: %+v became %+v", h, g)
			}
			bat := d.blocks.(*vhdDynamicMap).bat
			enc := encodeVHDBAT(bat)
			back, err := readVHDBAT(bytes.NewReader(enc), 0, int64(len(bat)))
			if err != nil || !equalU32(back, bat) {
				t.Errorf("BAT round trip differs: %v", err)
			}
		})
	}
}

func equalU32(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
