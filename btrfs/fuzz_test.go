package btrfs

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"testing"
)

const (
	fuzzBlock  = 4096
	fuzzDevice = 32 << 20
)

// sparseDevice is a fuzz input turned into a device: records of a 32-bit
// block number and one 4 KiB block, over zeros. It lets the fuzzer mutate
// a whole filesystem's few used blocks without a 32 MiB input.
type sparseDevice map[int64][]byte

func parseSparse(data []byte) sparseDevice {
	d := sparseDevice{}
	for len(data) >= 4+fuzzBlock {
		n := int64(binary.LittleEndian.Uint32(data)) % (fuzzDevice / fuzzBlock)
		d[n] = data[4 : 4+fuzzBlock]
		data = data[4+fuzzBlock:]
	}
	return d
}

func (d sparseDevice) ReadAt(p []byte, off int64) (int, error) {
	for i := 0; i < len(p); {
		pos := off + int64(i)
		blk, in := pos/fuzzBlock, int(pos%fuzzBlock)
		n := min(len(p)-i, fuzzBlock-in)
		if b, ok := d[blk]; ok {
			copy(p[i:i+n], b[in:])
		} else {
			clear(p[i : i+n])
		}
		i += n
	}
	return len(p), nil
}

// sparseSeed encodes the non-zero blocks of an image.
func sparseSeed(img []byte) []byte {
	var out []byte
	for blk := 0; blk*fuzzBlock < len(img) && blk*fuzzBlock < fuzzDevice; blk++ {
		b := img[blk*fuzzBlock : (blk+1)*fuzzBlock]
		if len(bytes.Trim(b, "\x00")) == 0 {
			continue
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(blk))
		out = append(out, b...)
	}
	return out
}

// FuzzVolume opens a mutated filesystem and reads everything in it: no
// input may panic, hang or allocate without bound.
func FuzzVolume(f *testing.F) {
	f.Add(sparseSeed(loadImage(f, "tiny.img")))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := NewVolume(parseSparse(data), fuzzDevice)
		if err != nil {
			return
		}
		for _, id := range []uint64{v.DefaultSubvolume(), fsTreeID, 256, 257} {
			fsys, err := v.Subvolume(id)
			if err != nil {
				continue
			}
			seen := 0
			_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
				if seen++; seen > 2000 {
					return fs.SkipAll
				}
				return walkOne(fsys, p, d, err)
			})
		}
	})
}

func walkOne(fsys *FS, p string, d fs.DirEntry, err error) error {
	if err != nil {
		return nil
	}
	fi, err := d.Info()
	if err != nil {
		return nil
	}
	_, _ = fi.(*FileInfo).Xattrs()
	_, _ = fsys.ReadLink(p)
	if fi.Mode().IsRegular() {
		if f, err := fsys.Open(p); err == nil {
			buf := make([]byte, 64<<10)
			for off := int64(0); off < min(fi.Size(), 1<<20); off += int64(len(buf)) {
				if _, err := f.(*File).ReadAt(buf, off); err != nil {
					break
				}
			}
			_, _, _ = f.(*File).Extents()
		}
	}
	return nil
}

// FuzzDecompress feeds mutated compressed extents to each decompressor.
func FuzzDecompress(f *testing.F) {
	img := loadImage(f, "tiny.img")
	v, err := NewVolume(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		f.Fatal(err)
	}
	fsys, _ := v.Subvolume(fsTreeID)
	for _, name := range []string{"zlib.txt", "lzo.txt", "zstd.txt", "zinline"} {
		fl, err := fsys.Open(name)
		if err != nil {
			f.Fatal(err)
		}
		d := fl.(*File).data
		if err := d.load(); err != nil {
			f.Fatal(err)
		}
		for _, e := range d.exts {
			raw := e.inline
			if e.typ != extInline {
				raw = make([]byte, e.diskBytes)
				if err := v.readData(raw, e.diskBytenr, false); err != nil {
					f.Fatal(err)
				}
			}
			f.Add(e.compression, raw)
			if e.compression == compLZO && len(raw) > 8 {
				// The first segment alone, for the LZO1X decoder.
				if n := int(binary.LittleEndian.Uint32(raw[4:])); 8+n <= len(raw) {
					f.Add(uint8(compNone), raw[8:8+n])
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, typ uint8, data []byte) {
		_, _ = decompress(typ%4, data, 128<<10, 4096)
		_, _ = lzo1xDecompress(make([]byte, 4096), data)
	})
}
