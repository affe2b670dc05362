package ntfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"testing"
)

// chunkOffsets returns the volume offsets of the 512-byte pieces of
// [off, off+n) of stream s (a record may straddle non-adjacent clusters).
func chunkOffsets(t *testing.T, s *stream, off, n int64) []int64 {
	t.Helper()
	var out []int64
	for p := off; p < off+n; p += fixupStride {
		o := s.volOffset(p)
		if o < 0 {
			t.Fatalf("offset %d of stream not on disk", p)
		}
		out = append(out, o)
	}
	return out
}

// editProtected gathers a multi-sector record from img, undoes its fixups,
// lets fn change it, and writes it back with fresh fixups.
func editProtected(t *testing.T, img []byte, offs []int64, fn func(b []byte)) {
	t.Helper()
	b := make([]byte, 0, len(offs)*fixupStride)
	for _, o := range offs {
		b = append(b, img[o:o+fixupStride]...)
	}
	if err := applyFixups(b, offs[0]); err != nil {
		t.Fatal(err)
	}
	fn(b)
	protectRecord(b)
	for i, o := range offs {
		copy(img[o:], b[i*fixupStride:(i+1)*fixupStride])
	}
}

// recordOffsets locates MFT record num of v.
func recordOffsets(t *testing.T, v *Volume, num uint64) []int64 {
	size := int64(v.geo.RecordSize)
	return chunkOffsets(t, v.mft, int64(num)*size, size)
}

// findAttr returns the position of the first attribute of type typ in a
// fixed-up record.
func findAttr(t *testing.T, b []byte, typ uint32) int {
	t.Helper()
	pos := int(binary.LittleEndian.Uint16(b[0x14:]))
	for pos+8 <= len(b) {
		at := binary.LittleEndian.Uint32(b[pos:])
		if at == attrEnd {
			break
		}
		if at == typ {
			return pos
		}
		pos += int(binary.LittleEndian.Uint32(b[pos+4:]))
	}
	t.Fatalf("no attribute %#x", typ)
	return 0
}

// messWith returns a corrupted copy of the tiny volume.
func messWith(t *testing.T, fn func(v *Volume, img []byte) []byte) []byte {
	t.Helper()
	good, err := os.ReadFile(image(t, "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVolume(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	img := bytes.Clone(good)
	return fn(v, img)
}

func recordOf(t *testing.T, v *Volume, path string) uint64 {
	t.Helper()
	n, err := v.resolve("test", path)
	if err != nil {
		t.Fatal(err)
	}
	return n.info.Ref.Record
}

// setRuns overwrites the runlist of the unnamed $DATA of record num.
func setRuns(t *testing.T, v *Volume, img []byte, num uint64, runs []byte) {
	editProtected(t, img, recordOffsets(t, v, num), func(b []byte) {
		a := findAttr(t, b, attrData)
		ro := a + int(binary.LittleEndian.Uint16(b[a+0x20:]))
		if a+int(binary.LittleEndian.Uint32(b[a+4:]))-ro < len(runs) {
			t.Fatal("no room for the runlist")
		}
		copy(b[ro:], runs)
	})
}

// TestHostile opens corrupted copies of a good volume and checks that each
// fault is reported with its sentinel, and that nothing panics or hangs.
func TestHostile(t *testing.T) {
	tests := []struct {
		name string
		mess func(t *testing.T, v *Volume, img []byte) []byte
		op   func(v *Volume) error // what must fail (after NewVolume)
		want error
	}{
		{"truncated", func(t *testing.T, v *Volume, img []byte) []byte { return img[:100000] }, nil, ErrFormat},
		{"boot signature", func(t *testing.T, v *Volume, img []byte) []byte { img[510] = 0; return img }, nil, ErrFormat},
		{"cluster size", func(t *testing.T, v *Volume, img []byte) []byte { img[0x0D] = 3; return img }, nil, ErrFormat},
		{"root record last sector fixup", func(t *testing.T, v *Volume, img []byte) []byte {
			offs := recordOffsets(t, v, rootRecord)
			last := offs[len(offs)-1]
			img[last+fixupStride-1] ^= 0xFF
			return img
		}, nil, ErrFixup},
		{"root record attribute length", func(t *testing.T, v *Volume, img []byte) []byte {
			editProtected(t, img, recordOffsets(t, v, rootRecord), func(b []byte) {
				a := findAttr(t, b, attrFileName)
				binary.LittleEndian.PutUint32(b[a+4:], 0)
			})
			return img
		}, nil, ErrFormat},
		{"MFT runlist past volume", func(t *testing.T, v *Volume, img []byte) []byte {
			setRuns(t, v, img, 0, []byte{0x41, 0x01, 0xFF, 0xFF, 0xFF, 0x7F, 0})
			return img
		}, nil, ErrRange},
		{"INDX fixup", func(t *testing.T, v *Volume, img []byte) []byte {
			n, _ := v.resolve("test", "dir")
			ix, err := v.openIndex(n)
			if err != nil || ix.alloc == nil {
				t.Fatalf("dir has no index allocation: %v", err)
			}
			img[ix.alloc.volOffset(0)+fixupStride-2] ^= 0xFF
			return img
		}, func(v *Volume) error { _, err := v.ReadDir("dir"); return err }, ErrFixup},
		{"index cycle", func(t *testing.T, v *Volume, img []byte) []byte {
			n, _ := v.resolve("test", "dir")
			ix, _ := v.openIndex(n)
			// Give the last entry of the node at VCN 0 a child: VCN 0 itself.
			editProtected(t, img, chunkOffsets(t, ix.alloc, 0, ix.recSize), func(b []byte) {
				h := 0x18
				pos := h + int(binary.LittleEndian.Uint32(b[h:]))
				for binary.LittleEndian.Uint16(b[pos+12:])&entryLast == 0 {
					pos += int(binary.LittleEndian.Uint16(b[pos+8:]))
				}
				binary.LittleEndian.PutUint16(b[pos+8:], 24)
				binary.LittleEndian.PutUint16(b[pos+12:], entryLast|entrySubnode)
				binary.LittleEndian.PutUint64(b[pos+16:], 0)
				binary.LittleEndian.PutUint32(b[h+4:], binary.LittleEndian.Uint32(b[h+4:])+8)
			})
			return img
		}, func(v *Volume) error {
			for _, name := range []string{"dir/a", "dir/file-0", "dir/file-5", "dir/zzzz"} {
				if _, err := v.Stat(name); err != nil && !errors.Is(err, ErrLoop) && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			_, err := v.ReadDir("dir")
			return err
		}, ErrLoop},
		{"runlist past volume", func(t *testing.T, v *Volume, img []byte) []byte {
			setRuns(t, v, img, recordOf(t, v, "dir/data.bin"), []byte{0x41, 0x01, 0xFF, 0xFF, 0xFF, 0x7F, 0})
			return img
		}, func(v *Volume) error { _, err := v.Stat("dir/data.bin"); return err }, ErrRange},
		{"runlist loops onto itself", func(t *testing.T, v *Volume, img []byte) []byte {
			num := recordOf(t, v, "dir/data.bin")
			setRuns(t, v, img, num, []byte{0x11, 0x01, 0x40, 0x11, 0x01, 0x00, 0})
			editProtected(t, img, recordOffsets(t, v, num), func(b []byte) {
				a := findAttr(t, b, attrData)
				binary.LittleEndian.PutUint64(b[a+0x18:], 1) // claim two clusters
			})
			return img
		}, func(v *Volume) error { _, err := v.Stat("dir/data.bin"); return err }, ErrLoop},
		{"absurd data size", func(t *testing.T, v *Volume, img []byte) []byte {
			editProtected(t, img, recordOffsets(t, v, recordOf(t, v, "dir/data.bin")), func(b []byte) {
				a := findAttr(t, b, attrData)
				binary.LittleEndian.PutUint64(b[a+0x30:], 1<<62)
			})
			return img
		}, func(v *Volume) error { _, err := v.OpenFile("dir/data.bin"); return err }, ErrRange},
		{"truncated past MFT", func(t *testing.T, v *Volume, img []byte) []byte {
			// Keep the boot sector's size claim honest for the device,
			// so the fault shows when records are read.
			end := recordOffsets(t, v, recordOf(t, v, "dir/data.bin"))[0]
			clear(img[end:])
			return img
		}, func(v *Volume) error { return walkAll(v) }, ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := messWith(t, func(v *Volume, img []byte) []byte { return tc.mess(t, v, img) })
			v, err := NewVolume(bytes.NewReader(img), int64(len(img)))
			if tc.op == nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("NewVolume: %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewVolume: %v", err)
			}
			if err := tc.op(v); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			_ = walkAll(v) // must not panic or hang
		})
	}
}
