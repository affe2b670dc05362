package guest

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
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// probeExt4 opens the one volume of disk and reads all of it as a mount
// would: every directory listed, every entry's mode asked (a stat through
// go-diskfs on ext4), every regular file read; then it opens name if
// given. It returns the first error.
func probeExt4(disk io.ReaderAt, size int64, name string) error {
	vols, err := Volumes(disk, size, "x")
	if err != nil {
		return err
	}
	v := vols[0]
	if v.Err != nil || v.FS == nil {
		return fmt.Errorf("%s %s: %w", v.Name, v.FSType, v.Err)
	}
	var first error
	note := func(err error) {
		if first == nil && err != nil {
			first = err
		}
	}
	_ = fs.WalkDir(v.FS, ".", func(p string, d fs.DirEntry, err error) error {
		note(err)
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			_ = fi.Mode()
		}
		if d.Type().IsRegular() {
			_, err := fs.ReadFile(v.FS, p)
			note(err)
		}
		return nil
	})
	if name != "" {
		f, err := v.FS.Open(name)
		if err == nil {
			_, err = io.Copy(io.Discard, f)
			f.Close()
		}
		note(err)
	}
	return first
}

// measured runs f and returns the bytes it allocated and its duration.
func measured(f func()) (uint64, time.Duration) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, d
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
	base4 := makeExt4(t, ext4Opts{blockSize: 4096, kib: 16 << 10})
	base1 := makeExt4(t, ext4Opts{blockSize: 1024, kib: 12 << 10, files: 300, index: true})
	root, sub, slow := uint32(2), base4.ino("sub"), base4.ino("slowlink")
	hello := base4.ino("hello.txt")
	htree := base1.ino("d")

	type disk = sparseDisk // size 0 means len(b)
	sb4 := func(patch func(sb []byte)) func() disk {
		return func() disk { im := base4.clone(); im.superblock(patch); return disk{b: im.b} }
	}
	ino4 := func(ino uint32, patch func(im *ext4Image, b []byte)) func() disk {
		return func() disk {
			im := base4.clone()
			im.inode(ino, func(b []byte) { patch(im, b) })
			return disk{b: im.b}
		}
	}
	// rootTree replaces the root directory's extent tree; its data block
	// stays where it is.
	rootTree := func(build func(im *ext4Image, iblock []byte, data uint64)) func() disk {
		return ino4(root, func(im *ext4Image, b []byte) {
			data := im.firstExtent(root).physical
			iblock := b[inodeBlock : inodeBlock+60]
			clear(iblock)
			build(im, iblock, data)
		})
	}
	// dxRoot patches the root block of the htree directory d.
	dxRoot := func(patch func(blk []byte)) func() disk {
		return func() disk {
			im := base1.clone()
			blk, _ := im.fileBlock(htree, 0)
			patch(blk)
			return disk{b: im.b}
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
			disk: sb4(func(sb []byte) { put32(sb, sbLogBlockSize, 7) })},
		{name: "blocks per group", want: ErrFormat, text: "32776 blocks per group",
			disk: sb4(func(sb []byte) { put32(sb, sbBlocksPerGroup, 8*4096+8) })},
		{name: "inodes per group", want: ErrFormat, text: "0 inodes per group",
			disk: sb4(func(sb []byte) { put32(sb, sbInodesPerGroup, 0) })},
		{name: "inode size not a power of two", want: ErrFormat, text: "inodes of 384 bytes",
			disk: sb4(func(sb []byte) { put16(sb, sbInodeSize, 384) })},
		{name: "inode size above the block size", want: ErrFormat, text: "inodes of 8192 bytes",
			disk: sb4(func(sb []byte) { put16(sb, sbInodeSize, 8192) })},
		{name: "descriptor size", want: ErrFormat, text: "group descriptors of 48 bytes",
			disk: sb4(func(sb []byte) { put16(sb, sbDescSize, 48) })},
		{name: "blocks beyond the partition", want: ErrFormat, text: "says 268435456 blocks of 4096 bytes but the partition holds 4096",
			disk: sb4(func(sb []byte) { put32(sb, sbBlocksCount, 1<<28) })},
		{name: "first data block", want: ErrFormat, text: "first data block is 7",
			disk: sb4(func(sb []byte) { put32(sb, sbFirstDataBlock, 7) })},
		{name: "inode count", want: ErrFormat, text: "inodes but 1 groups",
			disk: sb4(func(sb []byte) { put32(sb, sbInodesCount, binary.LittleEndian.Uint32(sb)+1) })},
		{
			// 2^25 groups of 8 blocks on a 1 TiB partition: go-diskfs
			// allocated and read a 2 GiB descriptor table.
			name: "descriptor table larger than we load", want: ErrUnsupported, text: "group descriptor table of 2147483648 bytes",
			disk: func() disk {
				im := base4.clone()
				im.superblock(func(sb []byte) {
					put32(sb, sbBlocksCount, 1<<28)
					put32(sb, sbBlocksPerGroup, 8)
					put32(sb, sbInodesPerGroup, 8)
					put32(sb, sbInodesCount, 1<<28)
				})
				return disk{b: im.b, size: 1 << 40}
			},
		},
		{name: "inode table outside the filesystem", want: ErrFormat, text: "group 0's inode table at block 5000",
			disk: func() disk {
				im := base4.clone()
				im.descriptor(0, func(d []byte) { put32(d, 0x8, 5000) })
				return disk{b: im.b}
			}},
		{name: "inode tables overlap", want: ErrFormat, text: "inode tables of groups 0 and 1 overlap",
			disk: func() disk {
				im := base1.clone()
				t0 := binary.LittleEndian.Uint32(im.b[im.geo.gdtOff+8:])
				im.descriptor(1, func(d []byte) { put32(d, 0x8, t0+1) })
				return disk{b: im.b}
			}},

		// Inodes: sizes.
		{name: "directory larger than the partition", want: ErrFormat, text: "directory of 1099511631872 bytes in a partition of 16777216",
			disk: ino4(root, func(_ *ext4Image, b []byte) { put32(b, inodeSizeHi, 1<<8) })},
		{name: "directory larger than we read", want: ErrUnsupported, text: "directory of 33554432 bytes is larger than we read",
			disk: func() disk {
				d := ino4(sub, func(_ *ext4Image, b []byte) { put32(b, inodeSizeLo, 32<<20) })()
				d.size = 1 << 30
				return d
			}},
		{
			// go-diskfs read a slow symlink's target into a buffer of
			// min(size, extent length): 128 MiB here.
			name: "symlink target longer than a block", want: ErrFormat, text: "symbolic link target of 4294967396 bytes",
			disk: ino4(slow, func(_ *ext4Image, b []byte) {
				put32(b, inodeSizeHi, 1)
				put16(b, inodeBlock+12+4, 32768)
			}),
		},

		// Inodes: extent trees.
		{
			// An extent of 32767 blocks: go-diskfs allocates a buffer of
			// that length (up to the directory size) before the read
			// fails: 256 MiB with a 4 GiB size, 4 GiB with 64 KiB blocks.
			name: "extent past the filesystem", want: ErrFormat, text: "extent of 32767 blocks",
			disk: ino4(root, func(_ *ext4Image, b []byte) {
				put32(b, inodeSizeLo, 16<<20)
				put16(b, inodeBlock+12+4, 0xffff)
			}),
		},
		{name: "extent tree loop", want: ErrFormat, text: "node of depth 1 where 0 belongs",
			disk: func() disk { im := base4.clone(); loopRootExtents(im); return disk{b: im.b} }},
		{name: "extent tree too deep", want: ErrFormat, text: "depth 6",
			disk: rootTree(func(_ *ext4Image, iblock []byte, data uint64) {
				putExtentHeader(iblock, 1, 4, 6)
				putExtentIndex(iblock, 0, 0, data)
			})},
		{
			// Two index entries sharing a leaf: each shared node doubles
			// what go-diskfs unrolls.
			name: "extent node reached twice", want: ErrFormat, text: "extent at file block 0 out of order",
			disk: rootTree(func(im *ext4Image, iblock []byte, data uint64) {
				x := im.freeBlock()
				leaf := im.block(x)
				putExtentHeader(leaf, 1, 340, 0)
				putExtent(leaf, 0, 0, 1, data)
				putExtentHeader(iblock, 2, 4, 1)
				putExtentIndex(iblock, 0, 0, x)
				putExtentIndex(iblock, 1, 1, x)
			}),
		},
		{name: "extent entries beyond the node", want: ErrFormat, text: "5 entries of 4 in a node with room for 4",
			disk: rootTree(func(_ *ext4Image, iblock []byte, data uint64) {
				putExtentHeader(iblock, 5, 4, 0)
				putExtent(iblock, 0, 0, 1, data)
			})},
		{name: "extents overlap", want: ErrFormat, text: "out of order",
			disk: rootTree(func(_ *ext4Image, iblock []byte, data uint64) {
				putExtentHeader(iblock, 2, 4, 0)
				putExtent(iblock, 0, 0, 1, data)
				putExtent(iblock, 1, 0, 1, data)
			})},

		// Inodes: htree indexes.
		{name: "htree block reached twice", want: ErrFormat, text: "reached twice",
			disk: func() disk { im := base1.clone(); shareHtreeBlocks(im, htree); return disk{b: im.b} }},
		{name: "htree too deep", want: ErrFormat, text: "3 index levels (at most 2)",
			disk: dxRoot(func(blk []byte) { blk[0x1e] = 3 })},
		{name: "htree entry past the directory", want: ErrFormat, text: "points at block 1000 of",
			disk: dxRoot(func(blk []byte) { put32(blk, 0x24, 1000) })},

		// Budgets.
		{
			// A directory of 70,000 twelve-byte entries all naming one
			// file: go-diskfs reads and keeps an inode per entry, about
			// 900 bytes each, so it refused past 69,632 entries after
			// spending 60 MiB. A directory this large is now listed by our
			// own reader, and must list within the usual bound.
			name: "directory of more entries than go-diskfs lists", want: nil, text: "",
			disk: func() disk {
				im := base4.clone()
				const blocks = 206
				start := im.freeRun(blocks)
				n := 0
				for k := range uint64(blocks) {
					blk := im.block(start + k)
					clear(blk)
					for off := 0; off+12 <= len(blk)-12; off += 12 {
						put32(blk, off, hello)
						rec := 12
						if off+24 > len(blk)-12 {
							rec = len(blk) - 12 - off
						}
						put16(blk, off+4, uint16(rec))
						blk[off+6], blk[off+7] = 4, 1
						copy(blk[off+8:], fmt.Sprintf("%04x", n%0x10000))
						n++
					}
					im.dirBlock(sub, blk)
				}
				im.inode(sub, func(b []byte) {
					put32(b, inodeSizeLo, blocks*4096)
					iblock := b[inodeBlock : inodeBlock+60]
					clear(iblock)
					putExtentHeader(iblock, 1, 4, 0)
					putExtent(iblock, 0, 0, blocks, start)
				})
				return disk{b: im.b}
			},
		},
		{
			// A valid filesystem: ln -s loop loop. go-diskfs follows links
			// by recursion without a hop limit; we stop after 40, as Linux.
			name: "symlink to itself", want: syscall.ELOOP, text: "symbolic links", open: "loop",
			disk: func() disk { return disk{b: base4.b} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.disk()
			if d.size == 0 {
				d.size = int64(len(d.b))
			}
			var err error
			alloc, took := measured(func() { err = probeExt4(d, d.size, tt.open) })
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
		o    ext4Opts
	}{
		{"htree 1 KiB blocks 2 groups", ext4Opts{blockSize: 1024, kib: 12 << 10, files: 300, index: true}},
		{"htree of two levels", ext4Opts{blockSize: 1024, kib: 12 << 10, files: 600, longNames: true, index: true}},
		{"extent index level", ext4Opts{blockSize: 4096, kib: 16 << 10, fragment: true}},
		{"64 KiB blocks", ext4Opts{blockSize: 65536, kib: 16 << 10, files: 100}},
		{"bigalloc", ext4Opts{blockSize: 4096, kib: 64 << 10, bigalloc: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.o
			im := makeExt4(t, o)
			img := filepath.Join(t.TempDir(), "img")
			if err := os.WriteFile(img, im.b, 0o644); err != nil {
				t.Fatal(err)
			}
			switch {
			case o.fragment:
				if off := im.inodeOff(im.ino("big.txt")); binary.LittleEndian.Uint16(im.b[off+inodeBlock+6:]) == 0 {
					t.Fatal("big.txt has no index level in its extent tree")
				}
			case o.longNames:
				x := im.firstExtent(im.ino("d"))
				if levels := im.block(x.physical)[0x1e]; levels == 0 {
					t.Fatal("directory d has one index level")
				}
			}
			dir := t.TempDir()
			testutil.Run(t, "debugfs", "-R", "rdump / "+dir, img)
			compareExt4(t, volumesOfBytes(t, im.b)[0].FS, dir)
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

// TestExt4InodeSlots checks how reads are recognised as inode reads, the
// slots of go-diskfs's extra group (past s_inodes_count) and the budgets.
func TestExt4InodeSlots(t *testing.T) {
	g := &ext4Guard{
		geo:       ext4Geometry{inodeSize: 256, inodesPerGroup: 8, groups: 2, blockSize: 4096, blocks: 100},
		tables:    []inodeTable{{start: 8192, group: 0}, {start: 20480, group: 1}},
		tableSize: 2048,
		extra:     65536,
	}
	for _, c := range []struct {
		off  int64
		ino  uint32
		past bool
		ok   bool
	}{
		{8192, 1, false, true}, {8192 + 7*256, 8, false, true}, {8192 + 8*256, 0, false, false},
		{8192 + 100, 0, false, false}, {20480 + 256, 10, false, true}, {4096, 0, false, false},
		{65536 + 512, 0, true, true}, {65536 + 2048, 0, false, false},
	} {
		ino, past, ok := g.inodeAt(c.off)
		if ino != c.ino || past != c.past || ok != c.ok {
			t.Errorf("inodeAt(%d) = %d %v %v, want %d %v %v", c.off, ino, past, ok, c.ino, c.past, c.ok)
		}
	}
	zero := make([]byte, 256) // mode 0, no extents: nothing to check
	g.begin(2, -1)
	if err := g.inspect(zero, 65536); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "past the 16") {
		t.Errorf("extra group: %v", err)
	}
	g.begin(2, -1)
	if err := g.inspect(make([]byte, 100), 8192); err != nil {
		t.Errorf("a read of another size: %v", err)
	}
	for i, want := range []error{nil, nil, ErrUnsupported} {
		if err := g.inspect(zero, 8192+int64(i)*256); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("read %d: %v, want %v", i, err, want)
		}
	}
	if err := g.inspect(make([]byte, 100), 8192); !errors.Is(err, ErrUnsupported) || g.refusal() != err {
		t.Errorf("after a refusal: %v, refusal %v", err, g.refusal())
	}
	g.begin(10, 300)
	if err := g.inspect(zero, 8192); err != nil {
		t.Errorf("first 256 bytes: %v", err)
	}
	if err := g.inspect(make([]byte, 100), 4096); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "more than 300 bytes") {
		t.Errorf("past the byte budget: %v", err)
	}
}
