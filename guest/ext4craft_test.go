package guest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// ext4Image is an ext4 filesystem made by mkfs.ext4, held in memory, with
// helpers to damage it the way a hostile image would: one field at a
// time, with the checksums around it kept valid so that go-diskfs gets as
// far as it can on the damaged value.
type ext4Image struct {
	t    testing.TB
	b    []byte
	geo  ext4Geometry
	tabs []inodeTable
	seed uint32 // metadata checksum seed
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c is the raw CRC32C ext4 uses (no inversion at either end).
func crc32c(seed uint32, b []byte) uint32 { return ^crc32.Update(^seed, castagnoli, b) }

// ext4Opts says what image makeExt4 builds.
type ext4Opts struct {
	blockSize, kib int
	files          int  // in directory d, for an htree index
	longNames      bool // of 200 bytes in d: few to a block, more index entries
	tiny           bool // a short sub/numbers.txt, for a 128 KiB image
	bigalloc       bool // clusters of 16 blocks
	index          bool // run e2fsck -D: directories of several blocks become htrees
	// fragment writes big.txt with debugfs into the holes left by
	// deleting every other file of frag/: an extent tree with a level
	// of index below the inode.
	fragment bool
}

// ext4Tree is the file tree of the crafted images.
func ext4Tree(t testing.TB, dir string, o ext4Opts) {
	t.Helper()
	write := func(name string, b []byte) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("hello.txt", []byte("hello, guest\n"))
	var nums bytes.Buffer
	lines := 20000
	if o.tiny {
		lines = 2000
	}
	for i := 1; i <= lines; i++ {
		fmt.Fprintln(&nums, i)
	}
	write("sub/numbers.txt", nums.Bytes())
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	link("hello.txt", "link")
	link(strings.Repeat("x", 100), "slowlink") // longer than 60 bytes: in a block
	link("loop", "loop")
	for i := range o.files {
		name := fmt.Sprintf("file-with-a-long-name-%d", i)
		if o.longNames {
			name += strings.Repeat("-", 200-len(name))
		}
		write("d/"+name, nil)
	}
	if o.fragment {
		for i := range 40 {
			write(fmt.Sprintf("frag/f%d", i), bytes.Repeat([]byte{'a' + byte(i%26)}, o.blockSize))
		}
	}
}

// makeExt4 runs mkfs.ext4 over ext4Tree, deterministically.
func makeExt4(t testing.TB, o ext4Opts) *ext4Image {
	t.Helper()
	testutil.NeedTool(t, "mkfs.ext4")
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	ext4Tree(t, tree, o)
	img := filepath.Join(dir, "img")
	env := append(os.Environ(), "E2FSPROGS_FAKE_TIME=1614834368", "TZ=UTC")
	run := func(ok func(error) bool, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		if b, err := cmd.CombinedOutput(); !ok(err) {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
	}
	args := []string{"-q", "-F", "-b", fmt.Sprint(o.blockSize), "-I", "256",
		"-N", fmt.Sprint(64 + o.files), "-U", "0b0e0c0a-1111-4222-8333-444455556666",
		"-E", "hash_seed=6f1c3e2a-6a4b-4d41-9e2f-0123456789ab,root_owner=0:0"}
	if o.bigalloc {
		args = append(args, "-O", "bigalloc", "-C", fmt.Sprint(16*o.blockSize))
	}
	args = append(args, "-d", tree, img, fmt.Sprintf("%dk", o.kib))
	run(func(err error) bool { return err == nil }, "mkfs.ext4", args...)
	if o.fragment {
		testutil.NeedTool(t, "debugfs")
		big := filepath.Join(dir, "big")
		if err := os.WriteFile(big, bytes.Repeat([]byte("0123456789abcdef"), 12*o.blockSize), 0o644); err != nil {
			t.Fatal(err)
		}
		var cmds strings.Builder
		for i := 1; i < 40; i += 2 {
			fmt.Fprintf(&cmds, "rm frag/f%d\n", i)
		}
		fmt.Fprintf(&cmds, "write %s big.txt\n", big)
		script := filepath.Join(dir, "cmds")
		if err := os.WriteFile(script, []byte(cmds.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		run(func(err error) bool { return err == nil }, "debugfs", "-w", "-f", script, img)
	}
	if o.index {
		testutil.NeedTool(t, "e2fsck")
		// Exit status 1 says the filesystem was changed, as asked.
		run(func(err error) bool {
			var ee *exec.ExitError
			return err == nil || (errors.As(err, &ee) && ee.ExitCode() == 1)
		}, "e2fsck", "-fyD", img)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return newExt4Image(t, b)
}

func newExt4Image(t testing.TB, b []byte) *ext4Image {
	t.Helper()
	g, err := newExt4Guard(bytes.NewReader(b), int64(len(b)), b[1024:2048])
	if err != nil {
		t.Fatalf("fresh image refused: %v", err)
	}
	im := &ext4Image{t: t, b: b, geo: g.geo, tabs: g.tables}
	sb := b[1024:2048]
	if im.seed = binary.LittleEndian.Uint32(sb[0x270:]); im.seed == 0 {
		im.seed = crc32c(0xffffffff, sb[0x68:0x78])
	}
	return im
}

// clone returns an independent copy to damage.
func (im *ext4Image) clone() *ext4Image {
	c := *im
	c.b = bytes.Clone(im.b)
	return &c
}

// superblock patches the superblock and fixes its checksum.
func (im *ext4Image) superblock(patch func(sb []byte)) {
	sb := im.b[1024:2048]
	patch(sb)
	binary.LittleEndian.PutUint32(sb[0x3fc:], crc32c(0xffffffff, sb[:0x3fc]))
}

// descriptor patches group descriptor g and fixes its checksum (the
// metadata_csum form: the low half of a CRC32C).
func (im *ext4Image) descriptor(g int, patch func(d []byte)) {
	off := im.geo.gdtOff + int64(g)*im.geo.descSize
	d := im.b[off : off+im.geo.descSize]
	patch(d)
	binary.LittleEndian.PutUint16(d[0x1e:], 0)
	var num [4]byte
	binary.LittleEndian.PutUint32(num[:], uint32(g))
	binary.LittleEndian.PutUint16(d[0x1e:], uint16(crc32c(crc32c(im.seed, num[:]), d)))
}

// inodeOff is where inode ino lies in the image.
func (im *ext4Image) inodeOff(ino uint32) int64 {
	group := uint32((uint64(ino) - 1) / im.geo.inodesPerGroup)
	for _, tab := range im.tabs {
		if tab.group == group {
			return tab.start + int64((uint64(ino)-1)%im.geo.inodesPerGroup)*im.geo.inodeSize
		}
	}
	im.t.Fatalf("no inode table for inode %d", ino)
	return 0
}

// inode patches inode ino and fixes its checksum.
func (im *ext4Image) inode(ino uint32, patch func(b []byte)) {
	off := im.inodeOff(ino)
	b := im.b[off : off+im.geo.inodeSize]
	patch(b)
	b[0x7c], b[0x7d], b[0x82], b[0x83] = 0, 0, 0, 0
	var num [4]byte
	binary.LittleEndian.PutUint32(num[:], ino)
	sum := crc32c(im.seed, num[:])
	sum = crc32c(sum, b[0x64:0x68]) // generation
	sum = crc32c(sum, b)
	binary.LittleEndian.PutUint16(b[0x7c:], uint16(sum))
	binary.LittleEndian.PutUint16(b[0x82:], uint16(sum>>16))
}

// block returns block n of the image, to patch in place.
func (im *ext4Image) block(n uint64) []byte {
	bs := im.geo.blockSize
	return im.b[int64(n)*bs : int64(n+1)*bs]
}

// dirBlock fixes the checksum in the tail of a directory leaf block of
// directory ino.
func (im *ext4Image) dirBlock(ino uint32, blk []byte) {
	off := im.inodeOff(ino)
	var num [4]byte
	binary.LittleEndian.PutUint32(num[:], ino)
	sum := crc32c(crc32c(im.seed, num[:]), im.b[off+0x64:off+0x68])
	tail := blk[len(blk)-12:]
	binary.LittleEndian.PutUint32(tail[0:], 0)
	binary.LittleEndian.PutUint16(tail[4:], 12)
	tail[6], tail[7] = 0, 0xde
	binary.LittleEndian.PutUint32(tail[8:], crc32c(sum, blk[:len(blk)-12]))
}

// extents returns the extents in the inode of ino (depth 0).
func (im *ext4Image) extents(ino uint32) []ext4Extent {
	b := im.b[im.inodeOff(ino)+inodeBlock:]
	if binary.LittleEndian.Uint16(b[6:]) != 0 {
		im.t.Fatalf("inode %d: extent tree deeper than the inode", ino)
	}
	var out []ext4Extent
	for i := range int(binary.LittleEndian.Uint16(b[2:])) {
		e := b[12+12*i:]
		out = append(out, ext4Extent{
			logical:  uint64(binary.LittleEndian.Uint32(e)),
			raw:      binary.LittleEndian.Uint16(e[4:]),
			physical: uint64(binary.LittleEndian.Uint16(e[6:]))<<32 | uint64(binary.LittleEndian.Uint32(e[8:])),
		})
	}
	return out
}

// firstExtent returns the first extent in the inode of ino.
func (im *ext4Image) firstExtent(ino uint32) ext4Extent { return im.extents(ino)[0] }

// fileBlock returns block k of file ino, to patch in place, and the
// number of blocks the file has.
func (im *ext4Image) fileBlock(ino uint32, k uint64) ([]byte, uint64) {
	var blocks uint64
	var out []byte
	for _, x := range im.extents(ino) {
		if k >= x.logical && k < x.logical+x.length() {
			out = im.block(x.physical + k - x.logical)
		}
		blocks = max(blocks, x.logical+x.length())
	}
	if out == nil {
		im.t.Fatalf("inode %d has no block %d", ino, k)
	}
	return out, blocks
}

// freeBlock returns the last block that group 0's bitmap marks free, to
// put crafted tree nodes in.
func (im *ext4Image) freeBlock() uint64 {
	d := im.b[im.geo.gdtOff:]
	bitmap := im.block(uint64(binary.LittleEndian.Uint32(d[0:])))
	for n := min(im.geo.blocks, im.geo.perGroup) - 1; n > 0; n-- {
		if bitmap[n/8]&(1<<(n%8)) == 0 {
			return n
		}
	}
	im.t.Fatal("no free block")
	return 0
}

// freeRun returns the first of n blocks in a row that group 0's bitmap
// marks free.
func (im *ext4Image) freeRun(n uint64) uint64 {
	d := im.b[im.geo.gdtOff:]
	bitmap := im.block(uint64(binary.LittleEndian.Uint32(d[0:])))
	run := uint64(0)
	for b := uint64(1); b < min(im.geo.blocks, im.geo.perGroup); b++ {
		if bitmap[b/8]&(1<<(b%8)) != 0 {
			run = 0
			continue
		}
		if run++; run == n {
			return b + 1 - n
		}
	}
	im.t.Fatalf("no %d free blocks in a row", n)
	return 0
}

// ino looks a path up in the undamaged image.
func (im *ext4Image) ino(name string) uint32 {
	im.t.Helper()
	vols := volumesOfBytes(im.t, im.b)
	if vols[0].FS == nil {
		im.t.Fatalf("%v", vols[0].Err)
	}
	fi, err := fs.Lstat(vols[0].FS, name)
	if err != nil {
		im.t.Fatal(err)
	}
	return fi.Sys().(*extStat).Ino
}

// putExtentHeader writes an extent node header.
func putExtentHeader(b []byte, entries, limit, depth int) {
	binary.LittleEndian.PutUint16(b[0:], extentMagic)
	binary.LittleEndian.PutUint16(b[2:], uint16(entries))
	binary.LittleEndian.PutUint16(b[4:], uint16(limit))
	binary.LittleEndian.PutUint16(b[6:], uint16(depth))
}

// putExtentIndex writes index entry i of a node.
func putExtentIndex(b []byte, i int, key uint32, child uint64) {
	e := b[12+12*i:]
	binary.LittleEndian.PutUint32(e[0:], key)
	binary.LittleEndian.PutUint32(e[4:], uint32(child))
	binary.LittleEndian.PutUint16(e[8:], uint16(child>>32))
}

// putExtent writes leaf entry i of a node.
func putExtent(b []byte, i int, logical uint32, n uint16, physical uint64) {
	e := b[12+12*i:]
	binary.LittleEndian.PutUint32(e[0:], logical)
	binary.LittleEndian.PutUint16(e[4:], n)
	binary.LittleEndian.PutUint16(e[6:], uint16(physical>>32))
	binary.LittleEndian.PutUint32(e[8:], uint32(physical))
}

// sparseDisk is an image followed by zeros up to size: a large partition
// for the price of a small one.
type sparseDisk struct {
	b    []byte
	size int64
}

func (s sparseDisk) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= s.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), s.size-off))
	clear(p[:n])
	if off < int64(len(s.b)) {
		copy(p[:n], s.b[off:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// loopRootExtents gives the root directory an extent index block that
// points at itself. go-diskfs recursed on it until the stack overflowed
// ("goroutine stack exceeds 1000000000-byte limit": fatal, no recover).
func loopRootExtents(im *ext4Image) {
	x := im.freeBlock()
	blk := im.block(x)
	putExtentHeader(blk, 1, (len(blk)-12)/12, 1)
	putExtentIndex(blk, 0, 0, x)
	im.inode(2, func(b []byte) {
		iblock := b[inodeBlock : inodeBlock+60]
		clear(iblock)
		putExtentHeader(iblock, 1, 4, 1)
		putExtentIndex(iblock, 0, 0, x)
	})
}

// shareHtreeBlocks makes every index entry of a two-level htree point at
// the same block: root -> index block i1 -> index block i2 -> leaf 1.
// go-diskfs parsed the leaf once per path, 122*125*125 times with 1 KiB
// blocks, and ran out of memory at 14 GiB. dir must be an htree of at
// least 4 blocks.
func shareHtreeBlocks(im *ext4Image, dir uint32) {
	blk, blocks := im.fileBlock(dir, 0)
	if blocks < 4 {
		im.t.Fatalf("directory inode %d has %d blocks, want 4", dir, blocks)
	}
	bs := len(blk)
	i1, i2 := uint32(blocks-2), uint32(blocks-1)
	blk[0x1e] = 2
	limit := (bs - 0x28) / 8
	put16(blk, 0x22, uint16(limit))
	put32(blk, 0x24, i1)
	for i := range limit - 1 {
		put32(blk, 0x28+8*i, uint32(i+1)<<20)
		put32(blk, 0x28+8*i+4, i1)
	}
	for k, child := range map[uint32]uint32{i1: i2, i2: 1} {
		n, _ := im.fileBlock(dir, uint64(k))
		clear(n)
		put16(n, 4, uint16(bs))
		put16(n, 0xa, uint16((bs-0x10)/8))
		put32(n, 0xc, child)
		for i := range (bs-0x10)/8 - 1 {
			put32(n, 0x10+8*i, uint32(i+1)<<20)
			put32(n, 0x10+8*i+4, child)
		}
	}
}

// Little-endian setters for the patches.
func put16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }

// ext4FuzzSeeds returns 128 KiB ext4 images for FuzzVolumes: a valid one
// (htree directory, slow symlink, symlink loop) and damaged copies that
// once crashed or exhausted go-diskfs. None without mkfs.ext4 and e2fsck.
func ext4FuzzSeeds(f *testing.F) [][]byte {
	for _, tool := range []string{"mkfs.ext4", "e2fsck"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil
		}
	}
	base := makeExt4(f, ext4Opts{blockSize: 1024, kib: 128, files: 80, index: true, tiny: true})
	dir, slow := base.ino("d"), base.ino("slowlink")
	seeds := [][]byte{base.b}
	for _, damage := range []func(im *ext4Image){
		loopRootExtents,
		func(im *ext4Image) { shareHtreeBlocks(im, dir) },
		func(im *ext4Image) { // a 4 GiB target read through a 32 MiB extent
			im.inode(slow, func(b []byte) { put32(b, inodeSizeHi, 1); put16(b, inodeBlock+12+4, 32768) })
		},
		func(im *ext4Image) { // a 64 MiB root directory read through a 64 MiB extent
			im.inode(2, func(b []byte) { put32(b, inodeSizeLo, 64<<20); put16(b, inodeBlock+12+4, 0xffff) })
		},
	} {
		im := base.clone()
		damage(im)
		seeds = append(seeds, im.b)
	}
	return append(seeds, extSeed(f, "ext2"), extSeed(f, "ext4", "-O", "inline_data"))
}

// extSeed makes a 128 KiB volume of the given kind from a small tree with
// mke2fs -d: block-mapped (ext2) or inline (ext4 with inline data)
// directories, files and links, which our own ext reader lists.
func extSeed(f *testing.F, kind string, opts ...string) []byte {
	dir := f.TempDir()
	for name, n := range map[string]int{"a": 10, "d/b": 70, "d/c": 13000} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte{'x'}, n), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.Symlink("d/"+strings.Repeat("y", 70), filepath.Join(dir, "l")); err != nil {
		f.Fatal(err)
	}
	img := filepath.Join(f.TempDir(), "img")
	args := append([]string{"-q", "-F", "-t", kind, "-b", "1024", "-N", "32", "-E", "root_owner=0:0", "-d", dir}, opts...)
	if out, err := exec.Command("mke2fs", append(args, img, "128K")...).CombinedOutput(); err != nil {
		f.Fatalf("mke2fs: %v: %s", err, out)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		f.Fatal(err)
	}
	return b
}
