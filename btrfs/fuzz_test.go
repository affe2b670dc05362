package btrfs

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"slices"
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
			_, _ = v.SubvolumePath(id)
			fsys, err := v.Subvolume(id)
			if err != nil {
				continue
			}
			walkSome(fsys)
		}
	})
}

// walkSome lists and reads the first 2000 entries of fsys.
func walkSome(fsys *FS) {
	seen := 0
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if seen++; seen > 2000 {
			return fs.SkipAll
		}
		return walkOne(fsys, p, d, err)
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

// FuzzLogReplay replays arbitrary log items over an empty tree: whatever
// the items say, the replay ends, without a panic, in bounded work.
func FuzzLogReplay(f *testing.F) {
	// inode 257 (a directory) with a name and an index entry for inode
	// 258, whose inode item, back reference and inline extent follow
	seed := []byte{}
	add := func(obj byte, typ uint8, off uint16, d []byte) {
		seed = append(seed, obj, typ, byte(off), byte(off>>8), byte(len(d)))
		seed = append(seed, d...)
	}
	dirIno := make([]byte, inodeItemSize)
	binary.LittleEndian.PutUint32(dirIno[52:], sIFDIR|0o755)
	fileIno := make([]byte, inodeItemSize)
	binary.LittleEndian.PutUint32(fileIno[52:], sIFREG|0o644)
	binary.LittleEndian.PutUint64(fileIno[16:], 5)
	add(1, typInodeItem, 0, dirIno[:160])
	add(2, typInodeItem, 0, fileIno[:160])
	add(2, typInodeRef, 1, makeRef(2, []byte("a")))
	add(1, typDirIndex, 2, makeDirEntry(dirEntry{location: key{258, typInodeItem, 0}, typ: ftReg, name: []byte("a")}))
	add(1, typDirLogIndex, 0, []byte{9, 0, 0, 0, 0, 0, 0, 0})
	inline := append(make([]byte, feInlineHdr), "hello"...)
	binary.LittleEndian.PutUint64(inline[8:], 5)
	add(2, typExtentData, 0, inline)
	f.Add(seed)
	types := []uint8{typInodeItem, typInodeRef, typInodeExtref, typXattr, typDirItem, typDirIndex, typDirLogIndex, typExtentData, typExtentCsum}
	f.Fuzz(func(t *testing.T, b []byte) {
		var items []item
		for len(b) >= 5 && len(items) < 256 {
			n := int(b[4])
			if 5+n > len(b) {
				break
			}
			typ := b[1]
			if !slices.Contains(types, typ) {
				typ = types[int(typ)%len(types)]
			}
			k := key{objectid: 256 + uint64(b[0]%8), typ: typ, offset: uint64(b[2]) | uint64(b[3])<<8}
			items = append(items, item{k, b[5 : 5+n]})
			b = b[5+n:]
		}
		slices.SortFunc(items, func(a, b item) int { return a.k.cmp(b.k) })
		items = slices.CompactFunc(items, func(a, b item) bool { return a.k == b.k })
		v := &Volume{sb: &superblock{sectorSize: 4096}}
		r := &replayer{v: v, p: newPatch(), csums: newPatch(), touched: map[uint64]bool{}, dirs: map[uint64]bool{}}
		_ = r.replay(items)
		r.p.seal()
	})
}
