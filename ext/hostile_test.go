package ext

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/exttest"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// probe opens the volume and reads all of it as a mount would: every
// directory listed, every entry's inode read, every regular file read;
// then it opens name if given. It returns the first error.
func probe(disk io.ReaderAt, size int64, name string) error {
	v, err := NewFS(disk, size)
	if err != nil {
		return err
	}
	var first error
	note := func(err error) {
		if first == nil && err != nil {
			first = err
		}
	}
	_ = fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		note(err)
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			_ = fi.Mode()
		} else {
			note(err)
		}
		if d.Type().IsRegular() {
			_, err := fs.ReadFile(v, p)
			note(err)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			_, err := v.ReadLink(p)
			note(err)
		}
		return nil
	})
	if name != "" {
		f, err := v.Open(name)
		if err == nil {
			_, err = io.Copy(io.Discard, f)
			f.Close()
		}
		note(err)
	}
	return first
}

const (
	hostileAllocCap = 64 << 20
	hostileTimeCap  = 20 * time.Second // under the race detector
)

// TestHostileExt4 damages one field of a real ext4 per case, the way that
// made go-diskfs allocate gigabytes, recurse until the stack overflowed,
// or walk an htree for ever. Each must give a clear error, allocate less
// than 64 MiB and finish promptly.
func TestHostileExt4(t *testing.T) {
	base4 := exttest.Make(t, exttest.Opts{BlockSize: 4096, KiB: 16 << 10})
	base1 := exttest.Make(t, exttest.Opts{BlockSize: 1024, KiB: 12 << 10, Files: 300, Index: true})
	root, sub, slow := uint32(2), base4.Ino("sub"), base4.Ino("slowlink")
	hello := base4.Ino("hello.txt")
	htree := base1.Ino("d")

	type disk = exttest.SparseDisk // size 0 means len(b)
	sb4 := func(patch func(sb []byte)) func() disk {
		return func() disk { im := base4.Clone(); im.Superblock(patch); return disk{B: im.B} }
	}
	ino4 := func(ino uint32, patch func(im *exttest.Image, b []byte)) func() disk {
		return func() disk {
			im := base4.Clone()
			im.Inode(ino, func(b []byte) { patch(im, b) })
			return disk{B: im.B}
		}
	}
	// rootTree replaces the root directory's extent tree; its data block
	// stays where it is.
	rootTree := func(build func(im *exttest.Image, iblock []byte, data uint64)) func() disk {
		return ino4(root, func(im *exttest.Image, b []byte) {
			data := im.FirstExtent(root).Physical
			iblock := b[inodeBlock : inodeBlock+60]
			clear(iblock)
			build(im, iblock, data)
		})
	}
	// dxRoot patches the root block of the htree directory d.
	dxRoot := func(patch func(blk []byte)) func() disk {
		return func() disk {
			im := base1.Clone()
			blk, _ := im.FileBlock(htree, 0)
			patch(blk)
			return disk{B: im.B}
		}
	}

	tests := []struct {
		name string
		disk func() disk
		open string // also opened, after the walk
		want error  // ErrFormat or ErrUnsupported (nil: must read)
		text string // in the message
		// alloc, when set, replaces hostileAllocCap: a refusal that
		// comes from a budget lets go-diskfs spend it first.
		alloc uint64
	}{
		// Superblock and group descriptors.
		{name: "block size", want: ErrFormat, text: "blocks of 2^7 KiB",
			disk: sb4(func(sb []byte) { exttest.Put32(sb, sbLogBlockSize, 7) })},
		{name: "blocks per group", want: ErrFormat, text: "32776 blocks per group",
			disk: sb4(func(sb []byte) { exttest.Put32(sb, sbBlocksPerGroup, 8*4096+8) })},
		{name: "inodes per group", want: ErrFormat, text: "0 inodes per group",
			disk: sb4(func(sb []byte) { exttest.Put32(sb, sbInodesPerGroup, 0) })},
		{name: "inode size not a power of two", want: ErrFormat, text: "inodes of 384 bytes",
			disk: sb4(func(sb []byte) { exttest.Put16(sb, sbInodeSize, 384) })},
		{name: "inode size above the block size", want: ErrFormat, text: "inodes of 8192 bytes",
			disk: sb4(func(sb []byte) { exttest.Put16(sb, sbInodeSize, 8192) })},
		{name: "descriptor size", want: ErrFormat, text: "group descriptors of 48 bytes",
			disk: sb4(func(sb []byte) { exttest.Put16(sb, sbDescSize, 48) })},
		{name: "blocks beyond the partition", want: ErrFormat, text: "says 268435456 blocks of 4096 bytes but the partition holds 4096",
			disk: sb4(func(sb []byte) { exttest.Put32(sb, sbBlocksCount, 1<<28) })},
		{name: "first data block", want: ErrFormat, text: "first data block is 7",
			disk: sb4(func(sb []byte) { exttest.Put32(sb, sbFirstDataBlock, 7) })},
		{name: "inode count", want: ErrFormat, text: "inodes but 1 groups",
			disk: sb4(func(sb []byte) { exttest.Put32(sb, sbInodesCount, binary.LittleEndian.Uint32(sb)+1) })},
		{
			// 2^25 groups of 8 blocks on a 1 TiB partition: go-diskfs
			// allocated and read a 2 GiB descriptor table.
			name: "more groups than we load", want: ErrUnsupported, text: "33554432 block groups",
			disk: func() disk {
				im := base4.Clone()
				im.Superblock(func(sb []byte) {
					exttest.Put32(sb, sbBlocksCount, 1<<28)
					exttest.Put32(sb, sbBlocksPerGroup, 8)
					exttest.Put32(sb, sbInodesPerGroup, 8)
					exttest.Put32(sb, sbInodesCount, 1<<28)
				})
				return disk{B: im.B, Size: 1 << 40}
			},
		},
		{name: "inode table outside the filesystem", want: ErrFormat, text: "group 0's inode table at block 5000",
			disk: func() disk {
				im := base4.Clone()
				im.Descriptor(0, func(d []byte) { exttest.Put32(d, 0x8, 5000) })
				return disk{B: im.B}
			}},
		{name: "inode tables overlap", want: ErrFormat, text: "inode tables of groups 0 and 1 overlap",
			disk: func() disk {
				im := base1.Clone()
				t0 := binary.LittleEndian.Uint32(im.B[im.Geo.GDTOff+8:])
				im.Descriptor(1, func(d []byte) { exttest.Put32(d, 0x8, t0+1) })
				return disk{B: im.B}
			}},

		// Inodes: sizes.
		{name: "directory larger than the partition", want: ErrFormat, text: "directory of 1099511631872 bytes in a partition of 16777216",
			disk: ino4(root, func(_ *exttest.Image, b []byte) { exttest.Put32(b, inodeSizeHi, 1<<8) })},
		{name: "directory larger than we read", want: ErrUnsupported, text: "directory of 134217728 bytes is larger than we read",
			disk: func() disk {
				d := ino4(sub, func(_ *exttest.Image, b []byte) { exttest.Put32(b, inodeSizeLo, 128<<20) })()
				d.Size = 1 << 30
				return d
			}},
		{
			// go-diskfs read a slow symlink's target into a buffer of
			// min(size, extent length): 128 MiB here.
			name: "symlink target longer than a block", want: ErrFormat, text: "symbolic link target of 4294967396 bytes",
			disk: ino4(slow, func(_ *exttest.Image, b []byte) {
				exttest.Put32(b, inodeSizeHi, 1)
				exttest.Put16(b, inodeBlock+12+4, 32768)
			}),
		},

		// Inodes: extent trees.
		{
			// An extent of 32767 blocks: go-diskfs allocates a buffer of
			// that length (up to the directory size) before the read
			// fails: 256 MiB with a 4 GiB size, 4 GiB with 64 KiB blocks.
			name: "extent past the filesystem", want: ErrFormat, text: "extent of 32767 blocks",
			disk: ino4(root, func(_ *exttest.Image, b []byte) {
				exttest.Put32(b, inodeSizeLo, 16<<20)
				exttest.Put16(b, inodeBlock+12+4, 0xffff)
			}),
		},
		{name: "extent tree loop", want: ErrFormat, text: "node of depth 1 where 0 belongs",
			disk: func() disk { im := base4.Clone(); exttest.LoopRootExtents(im); return disk{B: im.B} }},
		{name: "extent tree too deep", want: ErrFormat, text: "depth 6",
			disk: rootTree(func(_ *exttest.Image, iblock []byte, data uint64) {
				exttest.PutExtentHeader(iblock, 1, 4, 6)
				exttest.PutExtentIndex(iblock, 0, 0, data)
			})},
		{
			// Two index entries sharing a leaf: each shared node doubles
			// what go-diskfs unrolls.
			name: "extent node reached twice", want: ErrFormat, text: "extent at file block 0 out of order",
			disk: rootTree(func(im *exttest.Image, iblock []byte, data uint64) {
				x := im.FreeBlock()
				leaf := im.Block(x)
				exttest.PutExtentHeader(leaf, 1, 340, 0)
				exttest.PutExtent(leaf, 0, 0, 1, data)
				exttest.PutExtentHeader(iblock, 2, 4, 1)
				exttest.PutExtentIndex(iblock, 0, 0, x)
				exttest.PutExtentIndex(iblock, 1, 1, x)
			}),
		},
		{name: "extent entries beyond the node", want: ErrFormat, text: "5 entries of 4 in a node with room for 4",
			disk: rootTree(func(_ *exttest.Image, iblock []byte, data uint64) {
				exttest.PutExtentHeader(iblock, 5, 4, 0)
				exttest.PutExtent(iblock, 0, 0, 1, data)
			})},
		{name: "extents overlap", want: ErrFormat, text: "out of order",
			disk: rootTree(func(_ *exttest.Image, iblock []byte, data uint64) {
				exttest.PutExtentHeader(iblock, 2, 4, 0)
				exttest.PutExtent(iblock, 0, 0, 1, data)
				exttest.PutExtent(iblock, 1, 0, 1, data)
			})},

		// Inodes: htree indexes. go-diskfs walked them without a visit
		// limit; listings and lookups read the leaf blocks in order and
		// skip the index blocks, as the kernel's readdir does, so a
		// damaged index must not stop or slow a listing.
		{name: "htree block reached twice",
			disk: func() disk { im := base1.Clone(); exttest.ShareHtreeBlocks(im, htree); return disk{B: im.B} }},
		{name: "htree too deep",
			disk: dxRoot(func(blk []byte) { blk[0x1e] = 3 })},
		{name: "htree entry past the directory",
			disk: dxRoot(func(blk []byte) { exttest.Put32(blk, 0x24, 1000) })},

		// Budgets.
		{
			// A directory of 70,000 twelve-byte entries all naming one
			// file: go-diskfs reads and keeps an inode per entry, about
			// 900 bytes each, so it refused past 69,632 entries after
			// spending 60 MiB. A directory this large is now listed by our
			// own reader, and must list within the usual bound.
			name: "directory of more entries than go-diskfs lists", want: nil, text: "",
			disk: func() disk {
				im := base4.Clone()
				const blocks = 206
				start := im.FreeRun(blocks)
				n := 0
				for k := range uint64(blocks) {
					blk := im.Block(start + k)
					clear(blk)
					for off := 0; off+12 <= len(blk)-12; off += 12 {
						exttest.Put32(blk, off, hello)
						rec := 12
						if off+24 > len(blk)-12 {
							rec = len(blk) - 12 - off
						}
						exttest.Put16(blk, off+4, uint16(rec))
						blk[off+6], blk[off+7] = 4, 1
						copy(blk[off+8:], fmt.Sprintf("%04x", n%0x10000))
						n++
					}
					im.DirBlock(sub, blk)
				}
				im.Inode(sub, func(b []byte) {
					exttest.Put32(b, inodeSizeLo, blocks*4096)
					iblock := b[inodeBlock : inodeBlock+60]
					clear(iblock)
					exttest.PutExtentHeader(iblock, 1, 4, 0)
					exttest.PutExtent(iblock, 0, 0, blocks, start)
				})
				return disk{B: im.B}
			},
		},
		{
			// A valid filesystem: ln -s loop loop. go-diskfs follows links
			// by recursion without a hop limit; we stop after 40, as Linux.
			name: "symlink to itself", want: syscall.ELOOP, text: "symbolic links", open: "loop",
			disk: func() disk { return disk{B: base4.B} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.disk()
			if d.Size == 0 {
				d.Size = int64(len(d.B))
			}
			var err error
			alloc, took := testutil.Measured(func() { err = probe(d, d.Size, tt.open) })
			t.Logf("%v; %.1f MiB allocated in %v", err, float64(alloc)/(1<<20), took.Round(time.Millisecond))
			if !errors.Is(err, tt.want) || !strings.Contains(fmt.Sprint(err), tt.text) {
				t.Errorf("got %v, want %v saying %q", err, tt.want, tt.text)
			}
			if limit := cmp.Or(tt.alloc, hostileAllocCap); alloc > limit || took > hostileTimeCap {
				t.Errorf("%d bytes allocated in %v", alloc, took)
			}
		})
	}
}

// TestExt4ValidVariants reads ext4 layouts the guard must let through:
// htree directories of one and two index levels, an extent tree with an
// index level, two block groups, 1, 4 and 64 KiB blocks, bigalloc. Every
// file is compared with what debugfs extracts.
func TestExt4ValidVariants(t *testing.T) {
	testutil.NeedTool(t, "debugfs")
	for _, c := range []struct {
		name string
		o    exttest.Opts
	}{
		{"htree 1 KiB blocks 2 groups", exttest.Opts{BlockSize: 1024, KiB: 12 << 10, Files: 300, Index: true}},
		{"htree of two levels", exttest.Opts{BlockSize: 1024, KiB: 12 << 10, Files: 600, LongNames: true, Index: true}},
		{"extent index level", exttest.Opts{BlockSize: 4096, KiB: 16 << 10, Fragment: true}},
		{"64 KiB blocks", exttest.Opts{BlockSize: 65536, KiB: 16 << 10, Files: 100}},
		{"bigalloc", exttest.Opts{BlockSize: 4096, KiB: 64 << 10, Bigalloc: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.o
			im := exttest.Make(t, o)
			img := filepath.Join(t.TempDir(), "img")
			if err := os.WriteFile(img, im.B, 0o644); err != nil {
				t.Fatal(err)
			}
			switch {
			case o.Fragment:
				if off := im.InodeOff(im.Ino("big.txt")); binary.LittleEndian.Uint16(im.B[off+exttest.InodeBlock+6:]) == 0 {
					t.Fatal("big.txt has no index level in its extent tree")
				}
			case o.LongNames:
				x := im.FirstExtent(im.Ino("d"))
				if levels := im.Block(x.Physical)[0x1e]; levels == 0 {
					t.Fatal("directory d has one index level")
				}
			}
			dir := t.TempDir()
			testutil.Run(t, "debugfs", "-R", "rdump / "+dir, img)
			compareExt4(t, openBytes(t, im.B), dir)
		})
	}
}

// compareExt4 compares the tree of fsys with the one debugfs extracted to
// dir: the same names, directories and symlinks where debugfs has them,
// the same bytes in regular files.
func compareExt4(t *testing.T, fsys fs.FS, dir string) {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		seen[rel] = true
		fi, err := fs.Lstat(fsys, rel)
		switch {
		case err != nil:
			t.Errorf("%s: %v", rel, err)
		case d.Type()&fs.ModeSymlink != 0:
			if fi.Mode()&fs.ModeSymlink == 0 {
				t.Errorf("%s: mode %v, debugfs has a symlink", rel, fi.Mode())
			}
		case d.IsDir():
			if !fi.IsDir() {
				t.Errorf("%s: mode %v, debugfs has a directory", rel, fi.Mode())
			}
		default:
			got, err := fs.ReadFile(fsys, rel)
			want, _ := os.ReadFile(p)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: %d bytes (%v), debugfs has %d", rel, len(got), err, len(want))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if n++; p != "." && !seen[p] {
			t.Errorf("%s: listed by us, not by debugfs", p)
		}
		return nil
	})
	if n < 6 {
		t.Errorf("only %d entries", n)
	}
}

// TestHostileHtreeLookup damages the htree index of a directory and looks
// every name its listing shows up in a fresh FS (no cached listing, so
// through the index): a damaged index must neither hide a name nor stop
// a lookup. (ShareHtreeBlocks overwrites two leaf blocks with index
// nodes: their names are gone from the listing too.)
func TestHostileHtreeLookup(t *testing.T) {
	base := exttest.Make(t, exttest.Opts{BlockSize: 1024, KiB: 12 << 10, Files: 300, LongNames: true, Index: true})
	htree := base.Ino("d")
	for name, damage := range map[string]func(im *exttest.Image){
		"intact":               func(*exttest.Image) {},
		"blocks reached twice": func(im *exttest.Image) { exttest.ShareHtreeBlocks(im, htree) },
		"too deep": func(im *exttest.Image) {
			blk, _ := im.FileBlock(htree, 0)
			blk[0x1e] = 3
		},
		"entry past the directory": func(im *exttest.Image) {
			blk, _ := im.FileBlock(htree, 0)
			exttest.Put32(blk, 0x24, 1000)
		},
		"ranges swapped": func(im *exttest.Image) {
			blk, _ := im.FileBlock(htree, 0)
			a, b := binary.LittleEndian.Uint32(blk[0x24:]), binary.LittleEndian.Uint32(blk[0x2c:])
			exttest.Put32(blk, 0x24, b)
			exttest.Put32(blk, 0x2c, a)
		},
	} {
		t.Run(name, func(t *testing.T) {
			im := base.Clone()
			damage(im)
			ents, err := openBytes(t, im.B).ReadDir("d")
			if err != nil || len(ents) < 200 {
				t.Fatalf("%d names listed: %v", len(ents), err)
			}
			for _, e := range ents {
				v := openBytes(t, im.B)
				in, err := v.walk("lookup", "d", true)
				if err != nil || in.size() < htreeMinBlocks*v.geo.blockSize {
					t.Fatalf("d: %v, or too small for the index to be used", err)
				}
				if _, err := v.Lstat("d/" + e.Name()); err != nil {
					t.Fatalf("%s: %v", e.Name(), err)
				}
			}
		})
	}
}
