// Package exttest builds ext2/3/4 images with mke2fs for tests and
// damages them the way a hostile image would: one field at a time, with
// the metadata checksums around it kept valid, so that a reader gets as
// far as it can on the damaged value. It parses the few layout fields it
// needs itself, independently of package ext.
package exttest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// Image is an ext4 filesystem made by mkfs.ext4, held in memory.
type Image struct {
	T    testing.TB
	B    []byte
	Geo  Geometry
	seed uint32 // metadata checksum seed
	file string // the undamaged image on disk, for debugfs
}

// Geometry is the layout the superblock gives.
type Geometry struct {
	BlockSize, InodeSize, DescSize, GDTOff int64
	Blocks, PerGroup, InodesPerGroup       uint64
	Tables                                 []int64 // inode table start of each group
}

// InodeBlock is where i_block lies in an inode.
const InodeBlock = 0x28

// Extent is one leaf entry of an extent tree.
type Extent struct {
	Logical, Physical uint64
	Raw               uint16 // ee_len as stored: above 32768 for unwritten extents
}

// Length is the number of blocks the extent maps.
func (e Extent) Length() uint64 {
	if e.Raw > 32768 {
		return uint64(e.Raw) - 32768
	}
	return uint64(e.Raw)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c is the raw CRC32C ext4 uses (no inversion at either end).
func crc32c(seed uint32, b []byte) uint32 { return ^crc32.Update(^seed, castagnoli, b) }

// Opts says what image Make builds.
type Opts struct {
	BlockSize, KiB int
	Files          int  // in directory d, for an htree index
	LongNames      bool // of 200 bytes in d: few to a block, more index entries
	Tiny           bool // a short sub/numbers.txt, for a 128 KiB image
	Bigalloc       bool // clusters of 16 blocks
	Index          bool // run e2fsck -D: directories of several blocks become htrees
	// fragment writes big.txt with debugfs into the holes left by
	// deleting every other file of frag/: an extent tree with a level
	// of index below the inode.
	Fragment bool
}

// Tree is the file tree of the crafted images.
func Tree(t testing.TB, dir string, o Opts) {
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
	if o.Tiny {
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
	for i := range o.Files {
		name := fmt.Sprintf("file-with-a-long-name-%d", i)
		if o.LongNames {
			name += strings.Repeat("-", 200-len(name))
		}
		write("d/"+name, nil)
	}
	if o.Fragment {
		for i := range 40 {
			write(fmt.Sprintf("frag/f%d", i), bytes.Repeat([]byte{'a' + byte(i%26)}, o.BlockSize))
		}
	}
}

// Make runs mkfs.ext4 over Tree, deterministically.
func Make(t testing.TB, o Opts) *Image {
	t.Helper()
	testutil.NeedTool(t, "mkfs.ext4")
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	Tree(t, tree, o)
	img := filepath.Join(dir, "img")
	env := append(os.Environ(), "E2FSPROGS_FAKE_TIME=1614834368", "TZ=UTC")
	run := func(ok func(error) bool, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		if b, err := cmd.CombinedOutput(); !ok(err) {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
	}
	args := []string{"-q", "-F", "-b", fmt.Sprint(o.BlockSize), "-I", "256",
		"-N", fmt.Sprint(64 + o.Files), "-U", "0b0e0c0a-1111-4222-8333-444455556666",
		"-E", "hash_seed=6f1c3e2a-6a4b-4d41-9e2f-0123456789ab,root_owner=0:0"}
	if o.Bigalloc {
		args = append(args, "-O", "bigalloc", "-C", fmt.Sprint(16*o.BlockSize))
	}
	args = append(args, "-d", tree, img, fmt.Sprintf("%dk", o.KiB))
	run(func(err error) bool { return err == nil }, "mkfs.ext4", args...)
	if o.Fragment {
		testutil.NeedTool(t, "debugfs")
		big := filepath.Join(dir, "big")
		if err := os.WriteFile(big, bytes.Repeat([]byte("0123456789abcdef"), 12*o.BlockSize), 0o644); err != nil {
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
	if o.Index {
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
	return New(t, b)
}

func New(t testing.TB, b []byte) *Image {
	t.Helper()
	im := &Image{T: t, B: b}
	if len(b) < 2048 {
		t.Fatalf("image of %d bytes", len(b))
	}
	sb := b[1024:2048]
	le32 := func(o int) uint64 { return uint64(binary.LittleEndian.Uint32(sb[o:])) }
	g := &im.Geo
	g.BlockSize = 1024 << le32(0x18)
	g.Blocks, g.PerGroup, g.InodesPerGroup = le32(0x4), le32(0x20), le32(0x28)
	g.InodeSize, g.DescSize = int64(binary.LittleEndian.Uint16(sb[0x58:])), 32
	if le32(0x60)&0x80 != 0 {
		g.Blocks |= le32(0x150) << 32
		g.DescSize = int64(binary.LittleEndian.Uint16(sb[0xfe:]))
	}
	g.GDTOff = g.BlockSize * int64(le32(0x14)+1)
	groups := (g.Blocks - le32(0x14) + g.PerGroup - 1) / g.PerGroup
	for i := range groups {
		d := b[g.GDTOff+int64(i)*g.DescSize:]
		blk := uint64(binary.LittleEndian.Uint32(d[8:]))
		if g.DescSize >= 64 {
			blk |= uint64(binary.LittleEndian.Uint32(d[0x28:])) << 32
		}
		g.Tables = append(g.Tables, int64(blk)*g.BlockSize)
	}
	if im.seed = binary.LittleEndian.Uint32(sb[0x270:]); im.seed == 0 {
		im.seed = crc32c(0xffffffff, sb[0x68:0x78])
	}
	return im
}

// Clone returns an independent copy to damage.
func (im *Image) Clone() *Image {
	c := *im
	c.B = bytes.Clone(im.B)
	c.Geo.Tables = append([]int64(nil), im.Geo.Tables...)
	return &c
}

// Superblock patches the superblock and fixes its checksum.
func (im *Image) Superblock(patch func(sb []byte)) {
	sb := im.B[1024:2048]
	patch(sb)
	binary.LittleEndian.PutUint32(sb[0x3fc:], crc32c(0xffffffff, sb[:0x3fc]))
}

// Descriptor patches group descriptor g and fixes its checksum (the
// metadata_csum form: the low half of a CRC32C).
func (im *Image) Descriptor(g int, patch func(d []byte)) {
	off := im.Geo.GDTOff + int64(g)*im.Geo.DescSize
	d := im.B[off : off+im.Geo.DescSize]
	patch(d)
	binary.LittleEndian.PutUint16(d[0x1e:], 0)
	var num [4]byte
	binary.LittleEndian.PutUint32(num[:], uint32(g))
	binary.LittleEndian.PutUint16(d[0x1e:], uint16(crc32c(crc32c(im.seed, num[:]), d)))
}

// InodeOff is where inode ino lies in the image.
func (im *Image) InodeOff(ino uint32) int64 {
	group := (uint64(ino) - 1) / im.Geo.InodesPerGroup
	if group >= uint64(len(im.Geo.Tables)) {
		im.T.Fatalf("no inode table for inode %d", ino)
	}
	return im.Geo.Tables[group] + int64((uint64(ino)-1)%im.Geo.InodesPerGroup)*im.Geo.InodeSize
}

// Inode patches inode ino and fixes its checksum.
func (im *Image) Inode(ino uint32, patch func(b []byte)) {
	off := im.InodeOff(ino)
	b := im.B[off : off+im.Geo.InodeSize]
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

// Block returns block n of the image, to patch in place.
func (im *Image) Block(n uint64) []byte {
	bs := im.Geo.BlockSize
	return im.B[int64(n)*bs : int64(n+1)*bs]
}

// DirBlock fixes the checksum in the tail of a directory leaf block of
// directory ino.
func (im *Image) DirBlock(ino uint32, blk []byte) {
	off := im.InodeOff(ino)
	var num [4]byte
	binary.LittleEndian.PutUint32(num[:], ino)
	sum := crc32c(crc32c(im.seed, num[:]), im.B[off+0x64:off+0x68])
	tail := blk[len(blk)-12:]
	binary.LittleEndian.PutUint32(tail[0:], 0)
	binary.LittleEndian.PutUint16(tail[4:], 12)
	tail[6], tail[7] = 0, 0xde
	binary.LittleEndian.PutUint32(tail[8:], crc32c(sum, blk[:len(blk)-12]))
}

// Extents returns the extents in the inode of ino (depth 0).
func (im *Image) Extents(ino uint32) []Extent {
	b := im.B[im.InodeOff(ino)+InodeBlock:]
	if binary.LittleEndian.Uint16(b[6:]) != 0 {
		im.T.Fatalf("inode %d: extent tree deeper than the inode", ino)
	}
	var out []Extent
	for i := range int(binary.LittleEndian.Uint16(b[2:])) {
		e := b[12+12*i:]
		out = append(out, Extent{
			Logical:  uint64(binary.LittleEndian.Uint32(e)),
			Raw:      binary.LittleEndian.Uint16(e[4:]),
			Physical: uint64(binary.LittleEndian.Uint16(e[6:]))<<32 | uint64(binary.LittleEndian.Uint32(e[8:])),
		})
	}
	return out
}

// FirstExtent returns the first extent in the inode of ino.
func (im *Image) FirstExtent(ino uint32) Extent { return im.Extents(ino)[0] }

// FileBlock returns block k of file ino, to patch in place, and the
// number of blocks the file has.
func (im *Image) FileBlock(ino uint32, k uint64) ([]byte, uint64) {
	var blocks uint64
	var out []byte
	for _, x := range im.Extents(ino) {
		if k >= x.Logical && k < x.Logical+x.Length() {
			out = im.Block(x.Physical + k - x.Logical)
		}
		blocks = max(blocks, x.Logical+x.Length())
	}
	if out == nil {
		im.T.Fatalf("inode %d has no block %d", ino, k)
	}
	return out, blocks
}

// FreeBlock returns the last block that group 0's bitmap marks free, to
// put crafted tree nodes in.
func (im *Image) FreeBlock() uint64 {
	d := im.B[im.Geo.GDTOff:]
	bitmap := im.Block(uint64(binary.LittleEndian.Uint32(d[0:])))
	for n := min(im.Geo.Blocks, im.Geo.PerGroup) - 1; n > 0; n-- {
		if bitmap[n/8]&(1<<(n%8)) == 0 {
			return n
		}
	}
	im.T.Fatal("no free block")
	return 0
}

// FreeRun returns the first of n blocks in a row that group 0's bitmap
// marks free.
func (im *Image) FreeRun(n uint64) uint64 {
	d := im.B[im.Geo.GDTOff:]
	bitmap := im.Block(uint64(binary.LittleEndian.Uint32(d[0:])))
	run := uint64(0)
	for b := uint64(1); b < min(im.Geo.Blocks, im.Geo.PerGroup); b++ {
		if bitmap[b/8]&(1<<(b%8)) != 0 {
			run = 0
			continue
		}
		if run++; run == n {
			return b + 1 - n
		}
	}
	im.T.Fatalf("no %d free blocks in a row", n)
	return 0
}

// Ino looks a path up in the undamaged image, with debugfs.
func (im *Image) Ino(name string) uint32 {
	im.T.Helper()
	if im.file == "" {
		im.file = filepath.Join(im.T.TempDir(), "img")
		if err := os.WriteFile(im.file, im.B, 0o644); err != nil {
			im.T.Fatal(err)
		}
	}
	out, err := exec.Command("debugfs", "-R", "stat \"/"+name+"\"", im.file).CombinedOutput()
	m := regexp.MustCompile(`Inode: (\d+)`).FindSubmatch(out)
	if err != nil || m == nil {
		im.T.Fatalf("debugfs stat %s: %v\n%s", name, err, out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return uint32(n)
}

// PutExtentHeader writes an extent node header.
func PutExtentHeader(b []byte, entries, limit, depth int) {
	binary.LittleEndian.PutUint16(b[0:], 0xf30a)
	binary.LittleEndian.PutUint16(b[2:], uint16(entries))
	binary.LittleEndian.PutUint16(b[4:], uint16(limit))
	binary.LittleEndian.PutUint16(b[6:], uint16(depth))
}

// PutExtentIndex writes index entry i of a node.
func PutExtentIndex(b []byte, i int, key uint32, child uint64) {
	e := b[12+12*i:]
	binary.LittleEndian.PutUint32(e[0:], key)
	binary.LittleEndian.PutUint32(e[4:], uint32(child))
	binary.LittleEndian.PutUint16(e[8:], uint16(child>>32))
}

// PutExtent writes leaf entry i of a node.
func PutExtent(b []byte, i int, logical uint32, n uint16, physical uint64) {
	e := b[12+12*i:]
	binary.LittleEndian.PutUint32(e[0:], logical)
	binary.LittleEndian.PutUint16(e[4:], n)
	binary.LittleEndian.PutUint16(e[6:], uint16(physical>>32))
	binary.LittleEndian.PutUint32(e[8:], uint32(physical))
}

// SparseDisk is an image followed by zeros up to size: a large partition
// for the price of a small one.
type SparseDisk struct {
	B    []byte
	Size int64
}

// ReadAt reads the image, then zeros.
func (s SparseDisk) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= s.Size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), s.Size-off))
	clear(p[:n])
	if off < int64(len(s.B)) {
		copy(p[:n], s.B[off:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// LoopRootExtents gives the root directory an extent index block that
// points at itself. go-diskfs recursed on it until the stack overflowed
// ("goroutine stack exceeds 1000000000-byte limit": fatal, no recover).
func LoopRootExtents(im *Image) {
	x := im.FreeBlock()
	blk := im.Block(x)
	PutExtentHeader(blk, 1, (len(blk)-12)/12, 1)
	PutExtentIndex(blk, 0, 0, x)
	im.Inode(2, func(b []byte) {
		iblock := b[InodeBlock : InodeBlock+60]
		clear(iblock)
		PutExtentHeader(iblock, 1, 4, 1)
		PutExtentIndex(iblock, 0, 0, x)
	})
}

// ShareHtreeBlocks makes every index entry of a two-level htree point at
// the same block: root -> index block i1 -> index block i2 -> leaf 1.
// go-diskfs parsed the leaf once per path, 122*125*125 times with 1 KiB
// blocks, and ran out of memory at 14 GiB. dir must be an htree of at
// least 4 blocks.
func ShareHtreeBlocks(im *Image, dir uint32) {
	blk, blocks := im.FileBlock(dir, 0)
	if blocks < 4 {
		im.T.Fatalf("directory inode %d has %d blocks, want 4", dir, blocks)
	}
	bs := len(blk)
	i1, i2 := uint32(blocks-2), uint32(blocks-1)
	blk[0x1e] = 2
	limit := (bs - 0x28) / 8
	Put16(blk, 0x22, uint16(limit))
	Put32(blk, 0x24, i1)
	for i := range limit - 1 {
		Put32(blk, 0x28+8*i, uint32(i+1)<<20)
		Put32(blk, 0x28+8*i+4, i1)
	}
	for k, child := range map[uint32]uint32{i1: i2, i2: 1} {
		n, _ := im.FileBlock(dir, uint64(k))
		clear(n)
		Put16(n, 4, uint16(bs))
		Put16(n, 0xa, uint16((bs-0x10)/8))
		Put32(n, 0xc, child)
		for i := range (bs-0x10)/8 - 1 {
			Put32(n, 0x10+8*i, uint32(i+1)<<20)
			Put32(n, 0x10+8*i+4, child)
		}
	}
}

// Little-endian setters for the patches.
func Put16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func Put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }

// FuzzSeeds returns 128 KiB ext4 images for FuzzVolumes: a valid one
// (htree directory, slow symlink, symlink loop) and damaged copies that
// once crashed or exhausted go-diskfs. None without mkfs.ext4 and e2fsck.
func FuzzSeeds(f *testing.F) [][]byte {
	for _, tool := range []string{"mkfs.ext4", "e2fsck"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil
		}
	}
	base := Make(f, Opts{BlockSize: 1024, KiB: 128, Files: 80, Index: true, Tiny: true})
	dir, slow := base.Ino("d"), base.Ino("slowlink")
	seeds := [][]byte{base.B}
	for _, damage := range []func(im *Image){
		LoopRootExtents,
		func(im *Image) { ShareHtreeBlocks(im, dir) },
		func(im *Image) { // a 4 GiB target read through a 32 MiB extent
			im.Inode(slow, func(b []byte) { Put32(b, 0x6c, 1); Put16(b, InodeBlock+12+4, 32768) })
		},
		func(im *Image) { // a 64 MiB root directory read through a 64 MiB extent
			im.Inode(2, func(b []byte) { Put32(b, 0x4, 64<<20); Put16(b, InodeBlock+12+4, 0xffff) })
		},
	} {
		im := base.Clone()
		damage(im)
		seeds = append(seeds, im.B)
	}
	return append(seeds, Seed(f, "ext2"), Seed(f, "ext4", "-O", "inline_data"))
}

// Seed makes a 128 KiB volume of the given kind from a small tree with
// mke2fs -d: block-mapped (ext2) or inline (ext4 with inline data)
// directories, files and links, which our own ext reader lists.
func Seed(f *testing.F, kind string, opts ...string) []byte {
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
