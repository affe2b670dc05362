package ext

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
)

// Caps on what the superblock may make us load or walk. They are far
// above what a valid volume of a virtual disk (at most 64 TiB) needs.
const (
	// maxGroups bounds the group descriptor locations we keep: a
	// 64 TiB volume with 4 KiB blocks has 2^19 groups.
	maxGroups = 1 << 24
	// maxDirBytes bounds a directory read whole: 64 MiB hold some two
	// million entries of 20-character names, room for directories that
	// grew and were emptied again (ext never shrinks one).
	maxDirBytes = 64 << 20
	// maxExtents bounds the extents of one file.
	maxExtents = 1 << 20
)

// geometry is what the superblock says about the layout, checked.
type geometry struct {
	blockSize      int64
	blocks         uint64 // s_blocks_count, at most the volume's blocks
	firstDataBlock uint64
	perGroup       uint64 // blocks per group
	inodesPerGroup uint64
	inodeSize      int64
	descSize       int64
	groups         uint64
	incompat       uint32
	roCompat       uint32
	compat         uint32
	firstMetaBG    uint64
	largeDir       bool // htree indexes may be three levels deep
	fileTypes      bool // directory entries carry the file type (one-byte name length)
	hashSigned     bool // htree hashes of names with bytes >= 0x80 use signed chars
	hashVersion    uint8
	hashSeed       [4]uint32
	label          string
	uuid           [16]byte
	journalIno     uint32   // s_journal_inum: 0 when the journal is on another device
	firstIno       uint64   // s_first_ino: the first inode not reserved
	hidden         []uint32 // inodes the superblock names for its own use (quota, orphan file)
}

// Superblock fields (offsets in the superblock) and feature bits.
const (
	sbInodesCount    = 0x0
	sbBlocksCount    = 0x4
	sbFirstDataBlock = 0x14
	sbLogBlockSize   = 0x18
	sbLogClusterSize = 0x1c
	sbBlocksPerGroup = 0x20
	sbInodesPerGroup = 0x28
	sbMagic          = 0x38
	sbRevLevel       = 0x4c
	sbFirstIno       = 0x54
	sbInodeSize      = 0x58
	sbCompat         = 0x5c
	sbIncompat       = 0x60
	sbROCompat       = 0x64
	sbUUID           = 0x68
	sbVolumeName     = 0x78
	sbHashSeed       = 0xec
	sbDefHashVersion = 0xfc
	sbDescSize       = 0xfe
	sbFirstMetaBG    = 0x104
	sbBlocksCountHi  = 0x150
	sbFlags          = 0x160
	sbUsrQuotaIno    = 0x240
	sbGrpQuotaIno    = 0x244
	sbPrjQuotaIno    = 0x26c
	sbOrphanFileIno  = 0x280

	incompatCompression = 0x1
	incompatFType       = 0x2
	incompatRecover     = 0x4
	incompatJournalDev  = 0x8
	incompatMetaBG      = 0x10
	incompatExtents     = 0x40
	incompat64Bit       = 0x80
	incompatEAInode     = 0x400
	incompatDirData     = 0x1000
	incompatLargeDir    = 0x4000
	incompatInline      = 0x8000

	roCompatSparseSuper = 0x1
	roCompatBigalloc    = 0x200

	sbFlagUnsignedHash = 0x2

	extMagic = 0xef53
)

// sbErr reports a superblock field that is wrong, at its byte offset in
// the volume (the superblock starts at byte 1024).
func sbErr(field int64, format string, args ...any) error {
	return formatErr(1024+field, "superblock "+format, args...)
}

// parseSuper checks the superblock (sb, the 1024 bytes at byte 1024)
// against the volume size and the kernel's rules.
func parseSuper(sb []byte, size int64) (geometry, error) {
	var g geometry
	if len(sb) < 1024 {
		return g, formatErr(1024, "superblock cut short at %d bytes", len(sb))
	}
	le32 := func(off int) uint64 { return uint64(binary.LittleEndian.Uint32(sb[off:])) }
	if binary.LittleEndian.Uint16(sb[sbMagic:]) != extMagic {
		return g, sbErr(sbMagic, "without the ext magic")
	}
	logBlock := le32(sbLogBlockSize)
	if logBlock > 6 {
		return g, sbErr(sbLogBlockSize, "says blocks of 2^%d KiB; ext4 blocks are 1 to 64 KiB", logBlock)
	}
	g.blockSize = 1024 << logBlock
	bs := uint64(g.blockSize)
	g.compat, g.incompat, g.roCompat = uint32(le32(sbCompat)), uint32(le32(sbIncompat)), uint32(le32(sbROCompat))
	g.journalIno = uint32(le32(sbJournalIno))
	switch {
	case g.incompat&incompatJournalDev != 0:
		return g, unsupported("an external journal device, not a filesystem")
	case g.incompat&incompatCompression != 0:
		return g, unsupported("compression")
	case g.incompat&incompatDirData != 0:
		return g, unsupported("dirdata")
	}
	// A group's block bitmap is one block: 8*bs clusters, where a cluster
	// is one block unless bigalloc groups them (the kernel allows clusters
	// of up to 1 GiB).
	perCluster := uint64(1)
	if g.roCompat&roCompatBigalloc != 0 {
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
	g.inodeSize, g.firstIno = 128, 11
	if le32(sbRevLevel) > 0 {
		g.inodeSize = int64(binary.LittleEndian.Uint16(sb[sbInodeSize:]))
		g.firstIno = le32(sbFirstIno)
	}
	for _, f := range []int{sbUsrQuotaIno, sbGrpQuotaIno, sbPrjQuotaIno, sbOrphanFileIno} {
		if ino := uint32(le32(f)); ino != 0 {
			g.hidden = append(g.hidden, ino)
		}
	}
	if g.inodeSize < 128 || g.inodeSize > g.blockSize || bits.OnesCount64(uint64(g.inodeSize)) != 1 {
		return g, sbErr(sbInodeSize, "says inodes of %d bytes; want a power of two from 128 to the block size %d", g.inodeSize, g.blockSize)
	}
	g.largeDir = g.incompat&incompatLargeDir != 0
	g.fileTypes = g.incompat&incompatFType != 0
	g.label = strings.TrimRight(string(sb[sbVolumeName:sbVolumeName+16]), "\x00 ")
	copy(g.uuid[:], sb[sbUUID:sbUUID+16])
	g.hashVersion = sb[sbDefHashVersion]
	for i := range g.hashSeed {
		g.hashSeed[i] = binary.LittleEndian.Uint32(sb[sbHashSeed+4*i:])
	}
	g.hashSigned = le32(sbFlags)&sbFlagUnsignedHash == 0
	g.blocks, g.descSize = le32(sbBlocksCount), 32
	if g.incompat&incompat64Bit != 0 {
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
	if hi, lo := bits.Mul64(g.groups, g.inodesPerGroup); hi != 0 || lo != le32(sbInodesCount) {
		return g, sbErr(sbInodesCount, "says %d inodes but %d groups of %d inodes hold %d", le32(sbInodesCount), g.groups, g.inodesPerGroup, lo)
	}
	if g.groups > maxGroups {
		return g, unsupported("%d block groups (we read at most %d)", g.groups, maxGroups)
	}
	if g.incompat&incompatMetaBG != 0 {
		g.firstMetaBG = le32(sbFirstMetaBG)
	} else {
		g.firstMetaBG = ^uint64(0)
	}
	return g, nil
}

// hasSuper tells whether group holds a superblock backup (and, without
// meta_bg, a copy of the descriptor table): every group without
// sparse_super, else groups 0, 1 and the powers of 3, 5 and 7.
func (g *geometry) hasSuper(group uint64) bool {
	if g.roCompat&roCompatSparseSuper == 0 || group <= 1 {
		return true
	}
	if group&1 == 0 {
		return false
	}
	for _, base := range []uint64{3, 5, 7} {
		n := base
		for n < group {
			n *= base
		}
		if n == group {
			return true
		}
	}
	return false
}

// descBlock is the block that holds descriptor block k (the k-th block of
// the table): after the superblock in one run, or with meta_bg from
// s_first_meta_bg on in the first group of each meta group. The table
// follows the superblock's block, which is block 1 with 1 KiB blocks even
// when the first data block is 0 (bigalloc), as the kernel finds it.
func (g *geometry) descBlock(k uint64) uint64 {
	sbBlock := uint64(1024 / g.blockSize)
	if k < g.firstMetaBG {
		return sbBlock + 1 + k
	}
	group := k * uint64(g.blockSize/g.descSize)
	b := g.firstDataBlock + group*g.perGroup
	if g.hasSuper(group) {
		b++
	}
	if group == 0 && sbBlock == 1 && g.firstDataBlock == 0 {
		b++ // block 0 holds no superblock there; block 1 does
	}
	return b
}

// loadTables reads where each group's inode table lies, a descriptor block
// at a time, and checks that each table lies inside the filesystem and
// apart from the others.
func (v *FS) loadTables() error {
	geo := &v.geo
	fsBytes := int64(geo.blocks) * geo.blockSize
	tableSize := int64(geo.inodesPerGroup) * geo.inodeSize
	perBlock := uint64(geo.blockSize / geo.descSize)
	v.tables = make([]int64, 0, geo.groups)
	buf := make([]byte, geo.blockSize)
	for k := uint64(0); k*perBlock < geo.groups; k++ {
		blk := geo.descBlock(k)
		at := int64(blk) * geo.blockSize
		if blk >= geo.blocks {
			return formatErr(at, "group descriptor block %d lies outside the %d blocks of the filesystem", blk, geo.blocks)
		}
		if err := readFull(v.r, v.size, buf, at); err != nil {
			return formatErr(at, "reading group descriptors: %v", err)
		}
		for i := range min(perBlock, geo.groups-k*perBlock) {
			d := buf[int64(i)*geo.descSize:]
			block := uint64(binary.LittleEndian.Uint32(d[0x8:]))
			if geo.descSize >= 64 {
				block |= uint64(binary.LittleEndian.Uint32(d[0x28:])) << 32
			}
			group := k*perBlock + i
			start := int64(block) * geo.blockSize
			if block == 0 || block >= geo.blocks || start > fsBytes-tableSize {
				return formatErr(at+int64(i)*geo.descSize+8, "group %d's inode table at block %d (%d bytes) lies outside the %d blocks of the filesystem",
					group, block, tableSize, geo.blocks)
			}
			v.tables = append(v.tables, start)
		}
	}
	sorted := slices.Clone(v.tables)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] < sorted[i-1]+tableSize {
			a := slices.Index(v.tables, sorted[i-1])
			b := slices.Index(v.tables, sorted[i])
			return formatErr(geo.blockSize*int64(geo.descBlock(0)), "the inode tables of groups %d and %d overlap", min(a, b), max(a, b))
		}
	}
	return nil
}
