package guest

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strings"
)

// go-diskfs reads ext4 with sizes and counts taken straight from the disk:
// the group descriptor table is allocated whole at the size the superblock
// implies, a directory or slow symlink is read into one buffer per extent
// (up to 65535 blocks) and then whole, extent trees and htree indexes are
// followed without a depth, loop or visit limit (an extent block that
// points at itself overflows the stack, which no recover catches), and a
// listing reads every entry's inode. ext4Guard stands between go-diskfs
// and the partition: it checks the superblock and the group descriptors
// when the volume is opened, and then every inode go-diskfs reads, as the
// read passes through the storage (storage.inspect), before go-diskfs
// parses it. Each go-diskfs call also gets a budget of inode reads and of
// bytes read (its own and the checks'), so that no call runs for long.
//
// The limits keep valid filesystems working: they follow what the kernel
// and e2fsprogs accept, and the caps are far above what a VHDX (at most
// 64 TiB) holds in practice. Since go-diskfs only lists ext4 directories
// now (file content, link targets and ext2/ext3 are read by ext4file.go and
// ext4dir.go), the guard's geometry also serves those readers.
const (
	// maxExt4GDTBytes bounds the group descriptor table go-diskfs loads
	// whole: a 64 TiB volume with 4 KiB blocks has a 32 MiB table.
	maxExt4GDTBytes = 64 << 20
	// maxExt4DirBytes bounds a directory go-diskfs reads whole (and copies
	// once more to strip block checksums). 16 MiB holds some 600,000
	// entries of 20-character names: room for directories that grew and
	// were emptied again (ext4 never shrinks one).
	maxExt4DirBytes = 16 << 20
	// maxExt4DirEntries bounds the inodes one listing reads: go-diskfs
	// keeps every entry's parsed inode, about 1 KiB each.
	maxExt4DirEntries = 1 << 16
	// maxExt4PathInodes bounds the inodes any other call reads: one per
	// path component (a path of 4096 bytes has at most 2048) and a few more.
	maxExt4PathInodes = 4096
	// maxExt4Extents bounds the extents of one file: go-diskfs unrolls the
	// whole tree into a slice on open and scans it on every read.
	maxExt4Extents = 1 << 20
	// maxExt4CallBytes bounds what one call other than a file read reads:
	// the directories of a path (each at most maxExt4DirBytes), extent
	// trees (1M extents take some 24 MiB of tree), inodes. A file read
	// reads what its caller's buffer holds and has no such bound.
	maxExt4CallBytes = 256 << 20
)

// ext4Geometry is what the superblock says about the layout, checked.
type ext4Geometry struct {
	blockSize      int64
	blocks         uint64 // s_blocks_count, at most the partition's blocks
	firstDataBlock uint64
	perGroup       uint64 // blocks per group
	inodesPerGroup uint64
	inodeSize      int64
	descSize       int64
	// groups is the group count as the kernel computes it; go-diskfs
	// computes it without s_first_data_block, which can give one more.
	groups, diskfsGroups uint64
	gdtOff               int64 // where go-diskfs reads the descriptor table
	largeDir             bool  // htree indexes may be three levels deep
	fileTypes            bool  // directory entries carry the file type (one-byte name length)
	label                string
}

// ext4 superblock fields (offsets in the superblock) and feature bits.
const (
	sbInodesCount    = 0x0
	sbBlocksCount    = 0x4
	sbFirstDataBlock = 0x14
	sbLogBlockSize   = 0x18
	sbLogClusterSize = 0x1c
	sbBlocksPerGroup = 0x20
	sbInodesPerGroup = 0x28
	sbInodeSize      = 0x58
	sbIncompat       = 0x60
	sbROCompat       = 0x64
	sbDescSize       = 0xfe
	sbFirstMetaBG    = 0x104
	sbBlocksCountHi  = 0x150

	incompatMetaBG   = 0x10
	incompatInline   = 0x8000
	sbVolumeName     = 0x78
	incompat64Bit    = 0x80
	incompatLargeDir = 0x4000
	roCompatBigalloc = 0x200
)

// sbErr reports a superblock field that is wrong, at its byte offset in the
// partition (the superblock starts at byte 1024).
func sbErr(field int64, format string, args ...any) error {
	return formatErr(1024+field, "ext4: superblock "+format, args...)
}

// parseExt4Superblock checks the superblock fields go-diskfs sizes its
// reads from or divides by, against the partition size and the kernel's
// rules. sb is the whole 1024-byte superblock.
func parseExt4Superblock(sb []byte, size int64) (ext4Geometry, error) {
	var g ext4Geometry
	if len(sb) < 1024 {
		return g, formatErr(1024, "ext4 superblock cut short at %d bytes", len(sb))
	}
	le32 := func(off int) uint64 { return uint64(binary.LittleEndian.Uint32(sb[off:])) }
	logBlock := le32(sbLogBlockSize)
	if logBlock > 6 {
		return g, sbErr(sbLogBlockSize, "says blocks of 2^%d KiB; ext4 blocks are 1 to 64 KiB", logBlock)
	}
	g.blockSize = 1024 << logBlock
	bs := uint64(g.blockSize)
	// A group's block bitmap is one block: 8*bs clusters, where a cluster
	// is one block unless bigalloc groups them (the kernel allows clusters
	// of up to 1 GiB).
	perCluster := uint64(1)
	if le32(sbROCompat)&roCompatBigalloc != 0 {
		logCluster := le32(sbLogClusterSize)
		if logCluster < logBlock || logCluster > 20 {
			return g, sbErr(sbLogClusterSize, "says clusters of 2^%d KiB with blocks of 2^%d KiB", logCluster, logBlock)
		}
		perCluster = 1 << (logCluster - logBlock)
	}
	g.perGroup, g.inodesPerGroup = le32(sbBlocksPerGroup), le32(sbInodesPerGroup)
	if g.perGroup == 0 || g.perGroup > 8*bs*perCluster {
		return g, sbErr(sbBlocksPerGroup, "says %d blocks per group; a group's bitmap block holds 1 to %d", g.perGroup, 8*bs*perCluster)
	}
	if g.inodesPerGroup == 0 || g.inodesPerGroup > 8*bs {
		return g, sbErr(sbInodesPerGroup, "says %d inodes per group; a group's bitmap block holds 1 to %d", g.inodesPerGroup, 8*bs)
	}
	g.inodeSize = int64(binary.LittleEndian.Uint16(sb[sbInodeSize:]))
	if g.inodeSize < 128 || g.inodeSize > g.blockSize || bits.OnesCount64(uint64(g.inodeSize)) != 1 {
		return g, sbErr(sbInodeSize, "says inodes of %d bytes; want a power of two from 128 to the block size %d", g.inodeSize, g.blockSize)
	}
	if g.inodesPerGroup*uint64(g.inodeSize) > 1<<32-1 {
		// go-diskfs computes the offset in an inode table in 32 bits.
		return g, fmt.Errorf("ext4: inode tables of %d inodes of %d bytes: %w", g.inodesPerGroup, g.inodeSize, ErrUnsupported)
	}
	incompat := le32(sbIncompat)
	g.largeDir = incompat&incompatLargeDir != 0
	g.fileTypes = incompat&incompatFType != 0
	g.label = strings.TrimRight(string(sb[sbVolumeName:sbVolumeName+16]), "\x00 ")
	g.blocks, g.descSize = le32(sbBlocksCount), 32
	if incompat&incompat64Bit != 0 {
		g.blocks |= le32(sbBlocksCountHi) << 32
		g.descSize = int64(binary.LittleEndian.Uint16(sb[sbDescSize:]))
		if g.descSize < 64 || g.descSize > 1024 || bits.OnesCount64(uint64(g.descSize)) != 1 {
			return g, sbErr(sbDescSize, "says group descriptors of %d bytes; want a power of two from 64 to 1024", g.descSize)
		}
	}
	if fits := uint64(size) / bs; g.blocks == 0 || g.blocks > fits {
		return g, sbErr(sbBlocksCount, "says %d blocks of %d bytes but the partition holds %d", g.blocks, bs, fits)
	}
	g.firstDataBlock = le32(sbFirstDataBlock)
	if g.firstDataBlock > 1 || g.firstDataBlock >= g.blocks {
		return g, sbErr(sbFirstDataBlock, "says the first data block is %d (want 0, or 1 with 1 KiB blocks) of %d", g.firstDataBlock, g.blocks)
	}
	g.groups = (g.blocks - g.firstDataBlock + g.perGroup - 1) / g.perGroup
	g.diskfsGroups = (g.blocks + g.perGroup - 1) / g.perGroup
	if hi, lo := bits.Mul64(g.groups, g.inodesPerGroup); hi != 0 || lo != le32(sbInodesCount) {
		return g, sbErr(sbInodesCount, "says %d inodes but %d groups of %d inodes hold %d", le32(sbInodesCount), g.groups, g.inodesPerGroup, lo)
	}
	if incompat&incompatMetaBG != 0 {
		// go-diskfs reads the descriptor table as one run; with meta_bg
		// the descriptors past the first meta group lie elsewhere.
		if perBlock := bs / uint64(g.descSize); g.groups > le32(sbFirstMetaBG)*perBlock {
			return g, fmt.Errorf("ext4 meta_bg with descriptors outside the first table: %w", ErrUnsupported)
		}
	}
	g.gdtOff = g.blockSize
	if g.blockSize == 1024 {
		g.gdtOff = 2048
	}
	gdt := int64(g.diskfsGroups) * g.descSize // no overflow: groups <= 2^32, descSize <= 1024
	if gdt > maxExt4GDTBytes {
		return g, fmt.Errorf("ext4: group descriptor table of %d bytes (%d groups) is larger than we load (%d): %w",
			gdt, g.diskfsGroups, maxExt4GDTBytes, ErrUnsupported)
	}
	if gdt > size-g.gdtOff {
		return g, sbErr(sbBlocksPerGroup, "implies %d groups whose descriptors (%d bytes) do not fit in the partition", g.diskfsGroups, gdt)
	}
	return g, nil
}

// inodeTable is where one group's inode table lies, in bytes.
type inodeTable struct {
	start int64
	group uint32
}

// ext4Guard checks an ext4 volume for go-diskfs; see the top of the file.
// Its per-call fields are used under the diskFS lock (or during the open,
// before the volume is shared).
type ext4Guard struct {
	r    io.ReaderAt // the partition, read directly (not through storage)
	size int64
	geo  ext4Geometry

	tables    []inodeTable // sorted by start, for the kernel's groups
	byGroup   []int64      // inode table start of each group, by group
	tableSize int64        // bytes of one inode table
	// extra is the inode table of the group go-diskfs counts past the
	// kernel's last (see ext4Geometry.groups), or -1. Its inode numbers
	// lie past s_inodes_count: no valid entry names them.
	extra int64

	reads, budget   int   // inode reads in the current call, and the cap
	bytes, maxBytes int64 // bytes read in the current call, and the cap (< 0: none)
	err             error // the first refusal in the current call

	// checked holds the inode slots whose check had to read blocks (extent
	// trees deeper than the inode, htree indexes) and passed: a listing
	// reads every entry's inode, and the volume does not change under us.
	checked map[int64]struct{}

	inodeBuf []byte // see readInode
}

// maxExt4Checked bounds the checked set; it starts over when full.
const maxExt4Checked = 1 << 16

// newExt4Guard checks the superblock (sb, 1024 bytes) and the group
// descriptors of the ext4 volume in r.
func newExt4Guard(r io.ReaderAt, size int64, sb []byte) (*ext4Guard, error) {
	geo, err := parseExt4Superblock(sb, size)
	if err != nil {
		return nil, err
	}
	g := &ext4Guard{r: r, size: size, geo: geo, extra: -1, tableSize: int64(geo.inodesPerGroup) * geo.inodeSize}
	g.begin(maxExt4PathInodes, maxExt4CallBytes) // for go-diskfs's open
	if err := g.loadTables(); err != nil {
		return nil, err
	}
	return g, nil
}

// loadTables reads the inode table locations from the descriptor table the
// way go-diskfs does (the high half only with 64-byte descriptors), in
// pieces so that our own buffer stays small, and checks that each table
// lies inside the filesystem and apart from the others.
func (g *ext4Guard) loadTables() error {
	geo := g.geo
	fsBytes := int64(geo.blocks) * geo.blockSize
	g.tables = make([]inodeTable, 0, geo.groups)
	chunk := make([]byte, min(int64(geo.diskfsGroups)*geo.descSize, 1<<20))
	perChunk := uint64(int64(len(chunk)) / geo.descSize)
	for first := uint64(0); first < geo.diskfsGroups; first += perChunk {
		n := min(perChunk, geo.diskfsGroups-first)
		at := geo.gdtOff + int64(first)*geo.descSize
		buf := chunk[:int64(n)*geo.descSize]
		if err := readFull(g.r, g.size, buf, at); err != nil {
			return formatErr(at, "ext4: reading group descriptors: %v", err)
		}
		for i := range n {
			d := buf[int64(i)*geo.descSize:]
			block := uint64(binary.LittleEndian.Uint32(d[0x8:]))
			if geo.descSize == 64 {
				block |= uint64(binary.LittleEndian.Uint32(d[0x28:])) << 32
			}
			group := first + i
			start := int64(-1)
			if block > 0 && block < geo.blocks {
				start = int64(block) * geo.blockSize
			}
			if group >= geo.groups { // go-diskfs's extra group
				g.extra = start
				continue
			}
			if start < 0 || start > fsBytes-g.tableSize {
				return formatErr(at+int64(i)*geo.descSize+8, "ext4: group %d's inode table at block %d (%d bytes) lies outside the %d blocks of the filesystem",
					group, block, g.tableSize, geo.blocks)
			}
			g.tables = append(g.tables, inodeTable{start: start, group: uint32(group)})
			g.byGroup = append(g.byGroup, start)
		}
	}
	slices.SortFunc(g.tables, func(a, b inodeTable) int { return cmpInt64(a.start, b.start) })
	for i := 1; i < len(g.tables); i++ {
		if a, b := g.tables[i-1], g.tables[i]; b.start < a.start+g.tableSize {
			return formatErr(geo.gdtOff, "ext4: the inode tables of groups %d and %d overlap", a.group, b.group)
		}
	}
	return nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// inodeAt tells whether a read at off is the read of one inode slot, and
// which inode; past reports a slot of go-diskfs's extra group.
func (g *ext4Guard) inodeAt(off int64) (ino uint32, past, ok bool) {
	isz := g.geo.inodeSize
	if g.extra >= 0 && off >= g.extra && off-g.extra < g.tableSize && (off-g.extra)%isz == 0 {
		return 0, true, true
	}
	i, found := slices.BinarySearchFunc(g.tables, off, func(t inodeTable, off int64) int { return cmpInt64(t.start, off) })
	if !found {
		i--
	}
	if i < 0 {
		return 0, false, false
	}
	t := g.tables[i]
	d := off - t.start
	if d >= g.tableSize || d%isz != 0 {
		return 0, false, false
	}
	return uint32(uint64(t.group)*g.geo.inodesPerGroup + uint64(d/isz) + 1), false, true
}

// begin starts a go-diskfs call that may read up to inodes inodes and
// maxBytes bytes (no limit if negative).
func (g *ext4Guard) begin(inodes int, maxBytes int64) {
	g.reads, g.budget, g.bytes, g.maxBytes, g.err = 0, inodes, 0, maxBytes, nil
}

// spend counts n bytes read in the current call, by go-diskfs or by the
// checks, and refuses once the call has read too much.
func (g *ext4Guard) spend(n int) error {
	if g.maxBytes < 0 {
		return nil
	}
	if g.bytes += int64(n); g.bytes > g.maxBytes {
		return fmt.Errorf("ext4: more than %d bytes read for one request: %w", g.maxBytes, ErrUnsupported)
	}
	return nil
}

// refusal returns the first error the guard gave go-diskfs in this call.
// go-diskfs flattens the errors under it into text, so the caller returns
// this one, with its type, instead.
func (g *ext4Guard) refusal() error { return g.err }

// inspect is the storage hook: it sees every read go-diskfs makes, after
// the bytes arrived and before go-diskfs parses them, and refuses inode
// reads past the call's budget or of inodes that would make go-diskfs
// allocate or recurse without bound.
func (g *ext4Guard) inspect(p []byte, off int64) error {
	if g.err != nil {
		return g.err
	}
	if g.err = g.spend(len(p)); g.err != nil {
		return g.err
	}
	if int64(len(p)) != g.geo.inodeSize {
		return nil
	}
	ino, past, ok := g.inodeAt(off)
	if !ok {
		return nil
	}
	var err error
	switch g.reads++; {
	case past:
		err = formatErr(off, "ext4: inode past the %d the superblock counts", g.geo.groups*g.geo.inodesPerGroup)
	case g.reads > g.budget:
		err = fmt.Errorf("ext4: more than %d inodes read for one request (a directory of more entries, or a path of more components): %w",
			g.budget, ErrUnsupported)
	default:
		if _, ok := g.checked[off]; ok {
			return nil
		}
		if err = g.checkInode(ino, p, off); err == nil && ext4CheckReads(p) {
			if len(g.checked) >= maxExt4Checked || g.checked == nil {
				g.checked = make(map[int64]struct{})
			}
			g.checked[off] = struct{}{}
		}
	}
	g.err = err
	return err
}

// ext4CheckReads tells whether checkInode reads blocks for inode b: an
// extent tree deeper than the inode, or a hashed directory.
func ext4CheckReads(b []byte) bool {
	flags := binary.LittleEndian.Uint32(b[inodeFlags:])
	return flags&inodeFlagExt != 0 &&
		(binary.LittleEndian.Uint16(b[inodeBlock+6:]) > 0 || flags&inodeFlagIdx != 0)
}
