package xfs

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/bits"
)

// Superblock feature bits this package looks at.
const (
	versionDirV2   = 0x2000 // sb_versionnum: version 2 directories (required)
	features2Ftype = 0x0200 // sb_features2 (v4): file type in directory entries

	incompatFtype     = 1 << 0
	incompatSpinodes  = 1 << 1
	incompatMetaUUID  = 1 << 2
	incompatBigtime   = 1 << 3
	incompatNeedsRep  = 1 << 4
	incompatNrext64   = 1 << 5
	incompatExchRange = 1 << 6
	incompatParent    = 1 << 7
	incompatKnown     = incompatFtype | incompatSpinodes | incompatMetaUUID | incompatBigtime |
		incompatNeedsRep | incompatNrext64 | incompatExchRange | incompatParent
)

// superblock holds the fields of the primary superblock (AG 0, sector 0)
// that reading needs, checked for consistency with each other.
type superblock struct {
	version     int // 4 or 5
	blockSize   uint32
	blockLog    uint
	dblocks     uint64
	rblocks     uint64
	uuid        [16]byte
	logStart    uint64 // fsblock of the internal log; 0 for an external log
	logBlocks   uint32
	rootIno     uint64
	agBlocks    uint32
	agCount     uint32
	agBlkLog    uint
	sectSize    uint32
	inodeSize   uint32
	inodeLog    uint
	inoPBlock   uint32
	inoPBLog    uint
	dirBlkLog   uint
	logSectLog  uint
	label       string
	incompat    uint32
	logIncompat uint32
	ftype       bool
	// hidden are the inodes the superblock keeps for itself: the
	// realtime bitmap and summary, the quota files.
	hidden []uint64
}

// Superblock sanity limits, from the format: blocks of 512 B..64 KiB,
// inodes of 256 B..2 KiB, directory blocks of at most 64 KiB.
const (
	sbSize       = 512
	maxBlockLog  = 16
	minBlockLog  = 9
	maxDirBlkLog = 16
)

func parseSuper(b []byte) (*superblock, error) {
	if len(b) < sbSize {
		return nil, formatErr(0, "superblock truncated")
	}
	be := binary.BigEndian
	if string(b[0:4]) != "XFSB" {
		return nil, formatErr(0, "no XFS superblock magic")
	}
	sb := &superblock{
		blockSize:  be.Uint32(b[4:]),
		dblocks:    be.Uint64(b[8:]),
		rblocks:    be.Uint64(b[16:]),
		logStart:   be.Uint64(b[48:]),
		rootIno:    be.Uint64(b[56:]),
		agBlocks:   be.Uint32(b[84:]),
		agCount:    be.Uint32(b[88:]),
		logBlocks:  be.Uint32(b[96:]),
		sectSize:   uint32(be.Uint16(b[102:])),
		inodeSize:  uint32(be.Uint16(b[104:])),
		inoPBlock:  uint32(be.Uint16(b[106:])),
		blockLog:   uint(b[120]),
		inodeLog:   uint(b[122]),
		inoPBLog:   uint(b[123]),
		agBlkLog:   uint(b[124]),
		dirBlkLog:  uint(b[192]),
		logSectLog: uint(b[193]),
	}
	copy(sb.uuid[:], b[32:48])
	hidden := []int{64, 72, 160, 168} // sb_rbmino, sb_rsumino, sb_uquotino, sb_gquotino
	if be.Uint16(b[100:])&0xf == 5 {
		hidden = append(hidden, 232) // sb_pquotino
	}
	for _, at := range hidden {
		if ino := be.Uint64(b[at:]); ino != 0 && ino != ^uint64(0) {
			sb.hidden = append(sb.hidden, ino)
		}
	}
	sb.label = cString(b[108:120])
	vnum := be.Uint16(b[100:])
	sb.version = int(vnum & 0xf)
	features2 := be.Uint32(b[200:])
	switch sb.version {
	case 4:
		if vnum&versionDirV2 == 0 {
			return nil, kindErr(ErrUnsupported, 100, "version 1 directories")
		}
		sb.ftype = features2&features2Ftype != 0
	case 5:
		sb.incompat = be.Uint32(b[216:])
		sb.logIncompat = be.Uint32(b[220:])
		if sb.incompat&^incompatKnown != 0 {
			return nil, kindErr(ErrUnsupported, 216, "incompatible features 0x%x", sb.incompat&^incompatKnown)
		}
		sb.ftype = sb.incompat&incompatFtype != 0
	default:
		return nil, kindErr(ErrUnsupported, 100, "superblock version %d", sb.version)
	}
	if err := sb.checkGeometry(); err != nil {
		return nil, err
	}
	if sb.version == 5 && int(sb.sectSize) <= len(b) {
		if err := checkCRC(b[:sb.sectSize], 224, 0); err != nil {
			return nil, err
		}
	}
	return sb, nil
}

// checkGeometry refuses sizes and logarithms that disagree with each other
// or lie outside the format, so later shifts and products cannot overflow.
func (sb *superblock) checkGeometry() error {
	pow2 := func(v uint32, log uint) bool { return log < 32 && v == 1<<log }
	switch {
	case sb.blockLog < minBlockLog || sb.blockLog > maxBlockLog || !pow2(sb.blockSize, sb.blockLog):
		return formatErr(4, "block size %d (log %d)", sb.blockSize, sb.blockLog)
	case sb.sectSize < 512 || sb.sectSize > sb.blockSize || sb.sectSize&(sb.sectSize-1) != 0:
		return formatErr(102, "sector size %d", sb.sectSize)
	case sb.inodeLog < 8 || sb.inodeLog > 11 || !pow2(sb.inodeSize, sb.inodeLog) || sb.inodeSize > sb.blockSize:
		return formatErr(104, "inode size %d (log %d)", sb.inodeSize, sb.inodeLog)
	case sb.version == 5 && sb.inodeSize < 512:
		return formatErr(104, "inode size %d on a v5 filesystem", sb.inodeSize)
	case sb.inoPBLog != sb.blockLog-sb.inodeLog || sb.inoPBlock != 1<<sb.inoPBLog:
		return formatErr(106, "%d inodes per block (log %d)", sb.inoPBlock, sb.inoPBLog)
	case sb.agBlocks < 16 || sb.agCount == 0 || sb.agBlkLog != uint(bits.Len32(sb.agBlocks-1)):
		return formatErr(84, "allocation groups of %d blocks (log %d), %d of them", sb.agBlocks, sb.agBlkLog, sb.agCount)
	case sb.dblocks == 0 || sb.dblocks > uint64(sb.agCount)*uint64(sb.agBlocks) || sb.dblocks > 1<<(63-sb.blockLog):
		return formatErr(8, "%d data blocks in %d groups of %d", sb.dblocks, sb.agCount, sb.agBlocks)
	case sb.blockLog+sb.dirBlkLog > maxDirBlkLog:
		return formatErr(192, "directory blocks of 2^%d bytes", sb.blockLog+sb.dirBlkLog)
	case sb.agBlkLog+sb.inoPBLog > 32:
		return formatErr(124, "inode numbers of %d bits per group", sb.agBlkLog+sb.inoPBLog)
	}
	if sb.logStart != 0 {
		// The internal log lies inside one allocation group.
		_, err := sb.fsbToByte(sb.logStart)
		if err == nil && sb.logBlocks > 0 {
			_, err = sb.fsbToByte(sb.logStart + uint64(sb.logBlocks) - 1)
		}
		if err != nil || sb.logBlocks == 0 || (sb.logStart&(1<<sb.agBlkLog-1))+uint64(sb.logBlocks) > uint64(sb.agBlocks) {
			return formatErr(48, "internal log of %d blocks at block %d", sb.logBlocks, sb.logStart)
		}
	}
	if _, err := sb.inodeOffset(sb.rootIno); err != nil {
		return formatErr(56, "root inode %d: %v", sb.rootIno, err)
	}
	return nil
}

func (sb *superblock) hasCRC() bool { return sb.version == 5 }

// dirBlockSize is the size of one directory block, a power of two at
// least the filesystem block size.
func (sb *superblock) dirBlockSize() int { return int(sb.blockSize) << sb.dirBlkLog }

// fsbToByte turns a filesystem block number (AG number above agBlkLog
// bits, block within the AG below) into a byte offset of the volume.
func (sb *superblock) fsbToByte(fsb uint64) (int64, error) {
	ag := fsb >> sb.agBlkLog
	agb := fsb & (1<<sb.agBlkLog - 1)
	if ag >= uint64(sb.agCount) || agb >= uint64(sb.agBlocks) {
		return 0, fmt.Errorf("block %d (group %d, block %d) lies outside the filesystem", fsb, ag, agb)
	}
	lin := ag*uint64(sb.agBlocks) + agb
	if lin >= sb.dblocks {
		return 0, fmt.Errorf("block %d lies past the last block %d", fsb, sb.dblocks-1)
	}
	return int64(lin) << sb.blockLog, nil
}

// inodeOffset gives the byte offset of an inode from its number: the AG
// number, then the block within the AG, then the slot in the block.
func (sb *superblock) inodeOffset(ino uint64) (int64, error) {
	agBits := sb.agBlkLog + sb.inoPBLog
	ag := ino >> agBits
	agino := ino & (1<<agBits - 1)
	if ag >= uint64(sb.agCount) || ino == 0 {
		return 0, fmt.Errorf("inode %d lies outside the filesystem", ino)
	}
	agb := agino >> sb.inoPBLog
	off, err := sb.fsbToByte(ag<<sb.agBlkLog | agb)
	if err != nil {
		return 0, fmt.Errorf("inode %d: %v", ino, err)
	}
	return off + int64(agino&(1<<sb.inoPBLog-1))<<sb.inodeLog, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkCRC verifies a v5 metadata CRC32C stored little-endian at crcOff of
// b, computed over b with that field taken as zero. off is b's position
// in the volume, for the error.
func checkCRC(b []byte, crcOff int, off int64) error {
	if crcOff+4 > len(b) {
		return formatErr(off, "block of %d bytes too short for its checksum", len(b))
	}
	want := binary.LittleEndian.Uint32(b[crcOff:])
	if got := computeCRC(b, crcOff); got != want {
		return kindErr(ErrChecksum, off, "crc32c 0x%08x, stored 0x%08x", got, want)
	}
	return nil
}

func computeCRC(b []byte, crcOff int) uint32 {
	var zero [4]byte
	c := crc32.Update(0, castagnoli, b[:crcOff])
	c = crc32.Update(c, castagnoli, zero[:])
	return crc32.Update(c, castagnoli, b[crcOff+4:])
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
