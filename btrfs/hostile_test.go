package btrfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// loadImage reads one of gen.sh's images into memory.
func loadImage(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(BuildImages(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// walkAll lists, stats and reads everything under fsys, returning the
// first error.
func walkAll(fsys *FS) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if _, err := fi.(*FileInfo).Xattrs(); err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			_, err = fsys.ReadLink(p)
			return err
		case fi.Mode().IsRegular():
			f, err := fsys.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, io.LimitReader(f.(io.Reader), 1<<22))
			return err
		}
		return nil
	})
}

// resumSuper recomputes the crc32c of the primary superblock.
func resumSuper(b []byte) {
	s := b[SuperOffset : SuperOffset+superSize]
	copy(s, sum(nil, CsumCRC32C, s[0x20:]))
}

// resumNode recomputes the crc32c of the tree block at device offset p.
func resumNode(b []byte, p int64, ns int) {
	n := b[p : p+int64(ns)]
	copy(n[:4], sum(nil, CsumCRC32C, n[0x20:]))
}

// tinyPlaces finds where things lie in the tiny image.
type tinyPlaces struct {
	ns       int
	rootTree int64 // device offset of the root tree's root block
	fsTree   int64 // of subvolume 5's root block
	plain    int64 // device offset of d/plain's first data byte
}

func findPlaces(t *testing.T, b []byte) tinyPlaces {
	t.Helper()
	v, err := NewVolume(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	ns := int(v.sb.nodeSize)
	phys := func(l uint64) int64 {
		p, err := v.chunks.physical(l, ns)
		if err != nil {
			t.Fatal(err)
		}
		return p[0]
	}
	sv, err := v.subvol(fsTreeID)
	if err != nil {
		t.Fatal(err)
	}
	fsys, _ := v.Subvolume(fsTreeID)
	f, err := fsys.Open("d/plain")
	if err != nil {
		t.Fatal(err)
	}
	exts, _, err := f.(*File).Extents()
	if err != nil || len(exts) == 0 || exts[0].Sparse {
		t.Fatalf("d/plain extents %v, %v", exts, err)
	}
	return tinyPlaces{ns: ns, rootTree: phys(v.sb.root), fsTree: phys(sv.tree.bytenr), plain: exts[0].VolOff}
}

// TestDamagedFields damages one field of the tiny image per row and
// checks the error that opening or reading everything gives.
func TestDamagedFields(t *testing.T) {
	orig := loadImage(t, "tiny.img")
	pl := findPlaces(t, orig)
	le := binary.LittleEndian
	sb := int64(SuperOffset)
	sys := sb + 0x32b + keySize // the first system chunk item
	tests := []struct {
		name string
		mess func(b []byte)
		want error
	}{
		{"magic", func(b []byte) { b[sb+0x40] ^= 1 }, ErrFormat},
		{"superblock checksum", func(b []byte) { b[sb+0x200] ^= 1 }, ErrChecksum},
		{"checksum type", func(b []byte) { le.PutUint16(b[sb+0xc4:], 9) }, ErrUnsupported},
		{"sector size", func(b []byte) { le.PutUint32(b[sb+0x90:], 1000); resumSuper(b) }, ErrFormat},
		{"node size", func(b []byte) { le.PutUint32(b[sb+0x94:], 3); resumSuper(b) }, ErrFormat},
		{"root level", func(b []byte) { b[sb+0xc6] = 9; resumSuper(b) }, ErrFormat},
		{"superblock address", func(b []byte) { le.PutUint64(b[sb+0x30:], 0); resumSuper(b) }, ErrFormat},
		{"system chunk array size", func(b []byte) { le.PutUint32(b[sb+0xa0:], 4000); resumSuper(b) }, ErrFormat},
		{"system chunk without stripes", func(b []byte) { le.PutUint16(b[sys+44:], 0); resumSuper(b) }, ErrFormat},
		{"system chunk on another device", func(b []byte) { le.PutUint64(b[sys+48:], 2); resumSuper(b) }, ErrDevices},
		{"system chunk past the device", func(b []byte) { le.PutUint64(b[sys+56:], 1<<40); resumSuper(b) }, ErrRange},
		{"unknown incompat feature", func(b []byte) { b[sb+0xbc+2] |= 0x10; resumSuper(b) }, ErrUnsupported},
		{"chunk root outside every chunk", func(b []byte) { le.PutUint64(b[sb+0x58:], 1<<50); resumSuper(b) }, ErrRange},
		{"root tree block checksum", func(b []byte) { b[pl.rootTree+200] ^= 1 }, ErrChecksum},
		{"root tree item count", func(b []byte) { le.PutUint32(b[pl.rootTree+0x60:], 1<<30); resumNode(b, pl.rootTree, pl.ns) }, ErrFormat},
		{"root tree level", func(b []byte) { b[pl.rootTree+0x64] ^= 1; resumNode(b, pl.rootTree, pl.ns) }, ErrFormat},
		{"root tree address", func(b []byte) { b[pl.rootTree+0x30] ^= 0x10; resumNode(b, pl.rootTree, pl.ns) }, ErrFormat},
		{"root tree of another filesystem", func(b []byte) { b[pl.rootTree+0x20] ^= 1; resumNode(b, pl.rootTree, pl.ns) }, ErrFormat},
		{"root tree keys out of order", func(b []byte) {
			stride := int64(itemSize)
			if b[pl.rootTree+0x64] > 0 {
				stride = ptrSize
			}
			le.PutUint64(b[pl.rootTree+headerSize+stride:], 0)
			resumNode(b, pl.rootTree, pl.ns)
		}, ErrFormat},
		{"fs tree item data offset", func(b []byte) {
			le.PutUint32(b[pl.fsTree+headerSize+keySize:], 1<<20)
			resumNode(b, pl.fsTree, pl.ns)
		}, ErrFormat},
		{"root tree generation", func(b []byte) { b[pl.rootTree+0x50] ^= 1; resumNode(b, pl.rootTree, pl.ns) }, ErrFormat},
		{"fs tree block checksum", func(b []byte) { b[pl.fsTree+300] ^= 1 }, ErrChecksum},
		{"data sector", func(b []byte) { b[pl.plain+5] ^= 1 }, ErrChecksum},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(orig)
			tc.mess(b)
			v, err := NewVolume(bytes.NewReader(b), int64(len(b)))
			if err == nil {
				var fsys *FS
				if fsys, err = v.Subvolume(fsTreeID); err == nil {
					err = walkAll(fsys)
				}
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			t.Logf("%v", err)
		})
	}
}

// overlay is a device with some bytes replaced.
type overlay struct {
	r   io.ReaderAt
	off int64
	b   []byte
}

func (o *overlay) ReadAt(p []byte, off int64) (int, error) {
	n, err := o.r.ReadAt(p, off)
	for i := range p[:n] {
		if j := off + int64(i) - o.off; j >= 0 && j < int64(len(o.b)) {
			p[i] = o.b[j]
		}
	}
	return n, err
}

// TestDUPRecovery damages the first copy of a DUP tree block and of a DUP
// data sector: the reader takes the second copy, and fails with
// ErrChecksum once both are damaged.
func TestDUPRecovery(t *testing.T) {
	f, err := os.Open(filepath.Join(BuildImages(t), "blake2.img"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	v, err := NewVolume(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	ns := int(v.sb.nodeSize)
	copies, err := v.chunks.physical(v.sb.root, ns)
	if err != nil || len(copies) != 2 {
		t.Fatalf("root tree copies %v, %v", copies, err)
	}
	fsys, _ := v.Subvolume(fsTreeID)
	fl, err := fsys.Open("file64k")
	if err != nil {
		t.Fatal(err)
	}
	d := fl.(*File).data
	d.load()
	dataCopies, err := v.chunks.physical(d.exts[0].diskBytenr, 4096)
	if err != nil || len(dataCopies) != 2 {
		t.Fatalf("data copies %v, %v", dataCopies, err)
	}
	want := make([]byte, 4096)
	if _, err := fl.(*File).ReadAt(want, 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		at   []int64
		ok   bool
	}{{"tree block, first copy", copies[:1], true}, {"tree block, both copies", copies, false},
		{"data sector, first copy", dataCopies[:1], true}, {"data sector, both copies", dataCopies, false}} {
		t.Run(tc.name, func(t *testing.T) {
			var r io.ReaderAt = f
			for _, at := range tc.at {
				garbage := bytes.Repeat([]byte{0xAA}, 64)
				r = &overlay{r: r, off: at + 200, b: garbage}
			}
			v2, err := NewVolume(r, st.Size())
			if err == nil {
				var fs2 *FS
				if fs2, err = v2.Subvolume(fsTreeID); err == nil {
					var g fs.File
					if g, err = fs2.Open("file64k"); err == nil {
						got := make([]byte, 4096)
						if _, err = g.(*File).ReadAt(got, 0); err == nil && !bytes.Equal(got, want) {
							t.Fatal("wrong bytes from the second copy")
						}
					}
				}
			}
			if tc.ok && err != nil || !tc.ok && !errors.Is(err, ErrChecksum) {
				t.Fatalf("got %v (want success: %v)", err, tc.ok)
			}
		})
	}
}

// physical lists where the copies of [logical, logical+n) begin on the
// first device, for tests that damage one copy.
func (m *chunkMap) physical(logical uint64, n int) ([]int64, error) {
	if _, err := m.find(logical, n); err != nil {
		return nil, err
	}
	var out []int64
	for i := range m.copies(logical) {
		if p := m.offsetOf(logical, i); p >= 0 {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, kindErr(ErrDevices, -1, "logical 0x%x is not on the first device in one run", logical)
	}
	return out, nil
}

// leafSlot finds the leaf holding key k of a tree: its device offset and
// the item's slot.
func leafSlot(t *testing.T, v *Volume, r root, k key) (int64, int) {
	t.Helper()
	logical, level, gen := r.bytenr, r.level, r.gen
	for {
		n, err := v.readNode(logical, level, gen)
		if err != nil {
			t.Fatal(err)
		}
		i := searchNode(n, k)
		if level == 0 {
			if i == n.n || n.key(i) != k {
				t.Fatalf("key %+v not found", k)
			}
			p, err := v.chunks.physical(logical, int(v.sb.nodeSize))
			if err != nil {
				t.Fatal(err)
			}
			return p[0], i
		}
		if i == n.n || n.key(i).cmp(k) > 0 {
			i--
		}
		logical, gen = n.child(i)
		level--
	}
}

// TestDirectoryLoop gives directory d a second parent: the reader refuses
// to enter it (ErrLoop), so no walk can cycle through a damaged tree.
func TestDirectoryLoop(t *testing.T) {
	orig := loadImage(t, "tiny.img")
	v, err := NewVolume(bytes.NewReader(orig), int64(len(orig)))
	if err != nil {
		t.Fatal(err)
	}
	fsys, _ := v.Subvolume(fsTreeID)
	fi, err := fsys.Stat("d")
	if err != nil {
		t.Fatal(err)
	}
	ino := fi.(*FileInfo).Ino()
	p, slot := leafSlot(t, v, fsys.top.sv.tree, key{ino, typInodeRef, 256})
	b := bytes.Clone(orig)
	binary.LittleEndian.PutUint64(b[p+int64(headerSize+slot*itemSize+9):], 257)
	resumNode(b, p, int(v.sb.nodeSize))
	v2, err := NewVolume(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	fs2, _ := v2.Subvolume(fsTreeID)
	if _, err := fs2.Stat("d/plain"); !errors.Is(err, ErrLoop) {
		t.Fatalf("got %v, want ErrLoop", err)
	}
	if _, err := fs2.Stat("inline"); err != nil {
		t.Fatalf("the rest of the tree: %v", err)
	}
}

// TestSuperblockMirror damages the primary superblock: the copy at 64 MiB
// is used, and the files read as before.
func TestSuperblockMirror(t *testing.T) {
	f, err := os.Open(filepath.Join(BuildImages(t), "blake2.img"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	r := &overlay{r: f, off: SuperOffset + 0x300, b: []byte{0xde, 0xad}}
	v, err := NewVolume(r, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if v.SuperblockOffset() != 64<<20 {
		t.Fatalf("superblock copy at 0x%x, want the one at 64 MiB", v.SuperblockOffset())
	}
	fsys, _ := v.Subvolume(fsTreeID)
	if err := walkAll(fsys); err != nil {
		t.Fatal(err)
	}
	// Without the magic at 64 KiB the device is not taken for btrfs at
	// all, whatever the copies say.
	r = &overlay{r: f, off: MagicOffset, b: []byte("xxxxxxxx")}
	if _, err := NewVolume(r, st.Size()); !errors.Is(err, ErrFormat) {
		t.Fatalf("without the primary magic: %v", err)
	}
}

// TestSubvolumePathDamaged: a subvolume whose back reference names itself
// as its parent is a loop, and one naming a parent that is not there an
// error; neither walks on.
func TestSubvolumePathDamaged(t *testing.T) {
	orig := loadImage(t, "tiny.img")
	v, err := NewVolume(bytes.NewReader(orig), int64(len(orig)))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := v.SubvolumePath(256); p != "sv" || err != nil {
		t.Fatalf("subvolume 256: %q, %v", p, err)
	}
	for parent, want := range map[uint64]error{256: ErrLoop, 300: ErrFormat} {
		p, slot := leafSlot(t, v, v.root, key{256, typRootBackref, fsTreeID})
		b := bytes.Clone(orig)
		binary.LittleEndian.PutUint64(b[p+int64(headerSize+slot*itemSize+9):], parent)
		resumNode(b, p, int(v.sb.nodeSize))
		v2, err := NewVolume(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := v2.SubvolumePath(256); !errors.Is(err, want) {
			t.Errorf("parent %d: %q, %v; want %v", parent, got, err, want)
		}
	}
}
