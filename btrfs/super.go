package btrfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic is the superblock signature, at SuperOffset+0x40.
const Magic = "_BHRfS_M"

// SuperOffset is where the primary superblock lies; MagicOffset is where
// its magic is, for detection.
const (
	SuperOffset = 0x10000
	MagicOffset = SuperOffset + 0x40
	superSize   = 4096
)

// superMirrors are the byte offsets of the superblock copies: 64 KiB,
// 64 MiB and 256 GiB. Copies past the end of the device are absent.
var superMirrors = []int64{0x10000, 0x4000000, 0x4000000000}

// Incompatible feature bits this reader looks at.
const (
	incompatMixedBackref = 1 << 0
	incompatCompressLZO  = 1 << 3
	incompatCompressZSTD = 1 << 4
	incompatBigMetadata  = 1 << 5
	incompatExtendedRef  = 1 << 6
	incompatRAID56       = 1 << 7
	incompatSkinnyMeta   = 1 << 8
	incompatNoHoles      = 1 << 9
	incompatMetadataUUID = 1 << 10
	incompatRAID1C34     = 1 << 11
	incompatZoned        = 1 << 12
	incompatExtentTreeV2 = 1 << 13
	incompatRAIDStripe   = 1 << 14
	incompatSimpleQuota  = 1 << 16

	// incompatKnown are the bits whose on-disk effects this reader
	// handles (or which do not change what a reader sees).
	incompatKnown = incompatMixedBackref | 1<<1 /* default subvol */ | 1<<2 /* mixed groups */ |
		incompatCompressLZO | incompatCompressZSTD | incompatBigMetadata | incompatExtendedRef |
		incompatRAID56 | incompatSkinnyMeta | incompatNoHoles | incompatMetadataUUID |
		incompatRAID1C34 | incompatZoned | incompatSimpleQuota
)

// superblock holds the fields of btrfs_super_block this reader uses.
type superblock struct {
	off            int64 // where this copy was read
	fsid           [16]byte
	metadataUUID   [16]byte // the fsid tree blocks carry
	bytenr         uint64
	generation     uint64
	root           uint64
	chunkRoot      uint64
	logRoot        uint64
	totalBytes     uint64
	numDevices     uint64
	sectorSize     uint32
	nodeSize       uint32
	sysChunkSize   uint32
	chunkRootGen   uint64
	compatRO       uint64
	incompat       uint64
	csumType       uint16
	rootLevel      uint8
	chunkRootLevel uint8
	logRootLevel   uint8
	devID          uint64
	devUUID        [16]byte // dev_item.uuid: which device this is
	label          string
	sysChunkArray  []byte
}

// parseSuper decodes and checks one superblock copy read at off.
func parseSuper(b []byte, off int64) (*superblock, error) {
	if len(b) < superSize {
		return nil, formatErr(off, "superblock truncated")
	}
	if string(b[0x40:0x48]) != Magic {
		return nil, formatErr(off+0x40, "no btrfs magic")
	}
	le := binary.LittleEndian
	s := &superblock{off: off}
	copy(s.fsid[:], b[0x20:0x30])
	s.bytenr = le.Uint64(b[0x30:])
	s.generation = le.Uint64(b[0x48:])
	s.root = le.Uint64(b[0x50:])
	s.chunkRoot = le.Uint64(b[0x58:])
	s.logRoot = le.Uint64(b[0x60:])
	s.totalBytes = le.Uint64(b[0x70:])
	s.numDevices = le.Uint64(b[0x88:])
	s.sectorSize = le.Uint32(b[0x90:])
	s.nodeSize = le.Uint32(b[0x94:])
	s.sysChunkSize = le.Uint32(b[0xa0:])
	s.chunkRootGen = le.Uint64(b[0xa4:])
	s.compatRO = le.Uint64(b[0xb4:])
	s.incompat = le.Uint64(b[0xbc:])
	s.csumType = le.Uint16(b[0xc4:])
	s.rootLevel = b[0xc6]
	s.chunkRootLevel = b[0xc7]
	s.logRootLevel = b[0xc8]
	s.devID = le.Uint64(b[0xc9:])
	copy(s.devUUID[:], b[0xc9+66:0xc9+82])
	s.label = string(bytes.TrimRight(b[0x12b:0x22b], "\x00"))
	s.metadataUUID = s.fsid
	if s.incompat&incompatMetadataUUID != 0 {
		copy(s.metadataUUID[:], b[0x23b:0x24b])
	}
	if csumSize(s.csumType) == 0 {
		return nil, kindErr(ErrUnsupported, off+0xc4, "checksum type %d", s.csumType)
	}
	if !csumOK(s.csumType, b[:32], b[0x20:superSize]) {
		return nil, kindErr(ErrChecksum, off, "superblock %s checksum", csumName(s.csumType))
	}
	if s.bytenr != uint64(off) {
		return nil, formatErr(off+0x30, "superblock says it lies at 0x%x", s.bytenr)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	s.sysChunkArray = append([]byte(nil), b[0x32b:0x32b+s.sysChunkSize]...)
	return s, nil
}

// check validates sizes and features once the checksum has matched, so a
// hostile but well-summed superblock cannot size anything wildly.
func (s *superblock) check() error {
	off := s.off
	ss, ns := s.sectorSize, s.nodeSize
	if ss < 4096 || ss > 65536 || ss&(ss-1) != 0 {
		return formatErr(off+0x90, "sector size %d", ss)
	}
	if ns < ss || ns > 65536 || ns&(ns-1) != 0 {
		return formatErr(off+0x94, "node size %d", ns)
	}
	if s.sysChunkSize > 2048 {
		return formatErr(off+0xa0, "system chunk array size %d", s.sysChunkSize)
	}
	if s.rootLevel >= maxLevel || s.chunkRootLevel >= maxLevel {
		return formatErr(off+0xc6, "tree level %d/%d", s.rootLevel, s.chunkRootLevel)
	}
	if s.incompat&incompatExtentTreeV2 != 0 || s.incompat&incompatRAIDStripe != 0 {
		return kindErr(ErrUnsupported, off+0xbc, "incompat features 0x%x (extent tree v2 / RAID stripe tree)", s.incompat)
	}
	if unk := s.incompat &^ incompatKnown; unk != 0 {
		return kindErr(ErrUnsupported, off+0xbc, "unknown incompat features 0x%x", unk)
	}
	return nil
}

// readSuper returns the newest valid superblock copy. A copy that does
// not exist (past the end) or is not btrfs is skipped; the primary must
// carry the magic, so that a device whose first copy was wiped is not
// taken for btrfs from a stale mirror.
func readSuper(r io.ReaderAt, size int64) (*superblock, error) {
	var best *superblock
	var firstErr error
	buf := make([]byte, superSize)
	for i, off := range superMirrors {
		if off+superSize > size {
			break
		}
		if _, err := r.ReadAt(buf, off); err != nil {
			return nil, fmt.Errorf("btrfs: reading superblock at 0x%x: %w", off, err)
		}
		s, err := parseSuper(buf, off)
		if err != nil {
			if i == 0 && string(buf[0x40:0x48]) != Magic {
				return nil, err
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if best == nil || s.generation > best.generation {
			best = s
		}
	}
	if best == nil {
		if firstErr == nil {
			firstErr = formatErr(-1, "device of %d bytes is too small for a superblock", size)
		}
		return nil, firstErr
	}
	return best, nil
}

var errNotFound = errors.New("btrfs: item not found")
