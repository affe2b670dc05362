package jbd2

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// The on-disk constants of JBD2 (the kernel's include/linux/jbd2.h). Every
// field of the journal is big-endian, unlike the ext filesystem around it.
const (
	magic = 0xC03B3998

	blockDescriptor = 1
	blockCommit     = 2
	blockSuperV1    = 3
	blockSuperV2    = 4
	blockRevoke     = 5

	compatChecksum = 0x1 // v1 commit-block checksums (crc32 over the data)

	incompatRevoke      = 0x1
	incompat64Bit       = 0x2
	incompatAsyncCommit = 0x4
	incompatCsumV2      = 0x8
	incompatCsumV3      = 0x10
	incompatFastCommit  = 0x20
	incompatKnown       = incompatRevoke | incompat64Bit | incompatAsyncCommit |
		incompatCsumV2 | incompatCsumV3 | incompatFastCommit

	checksumTypeCRC32C = 4

	// A journal of this many blocks or more is not real: the largest
	// journal mke2fs makes is 2^30 bytes, and a fast-commit area adds
	// little. The cap keeps a hostile superblock from making the scan
	// walk billions of blocks.
	maxJournalBlocks = 1 << 24

	defaultFastCommitBlocks = 256
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c is the kernel's crc32c(seed, data): the raw CRC register without
// the inversions Go's crc32.Update applies on entry and exit.
func crc32c(seed uint32, p []byte) uint32 {
	return ^crc32.Update(^seed, castagnoli, p)
}

// superblock is the part of the journal superblock replay needs.
type superblock struct {
	blockSize int
	maxLen    uint32 // blocks in the journal, fast-commit area included
	first     uint32 // first block of the log
	sequence  uint32 // first transaction expected in the log
	start     uint32 // block where the log starts; 0 = nothing to replay
	errno     int32
	v2        bool
	compat    uint32
	incompat  uint32
	uuid      [16]byte
	fcBlocks  uint32 // blocks reserved for fast commits at the end
	csumSeed  uint32
}

func (s *superblock) has(f uint32) bool { return s.incompat&f != 0 }

// csumV23 says whether blocks carry the v2/v3 checksums (crc32c).
func (s *superblock) csumV23() bool { return s.has(incompatCsumV2) || s.has(incompatCsumV3) }

// logEnd is the block after the last one of the ordinary log: the
// fast-commit area, when there is one, sits between it and maxLen.
func (s *superblock) logEnd() uint32 {
	if s.has(incompatFastCommit) && s.maxLen-s.first > s.fcBlocks {
		return s.maxLen - s.fcBlocks
	}
	return s.maxLen
}

// tagBytes is the size of one block tag in a descriptor block (the
// kernel's journal_tag_bytes).
func (s *superblock) tagBytes() int {
	if s.has(incompatCsumV3) {
		return 16
	}
	n := 12
	if s.has(incompatCsumV2) {
		n += 2
	}
	if s.has(incompat64Bit) {
		return n
	}
	return n - 4
}

// tailBytes is the checksum tail of descriptor and revoke blocks.
func (s *superblock) tailBytes() int {
	if s.csumV23() {
		return 4
	}
	return 0
}

// parseSuperblock reads the journal superblock from the first 1024 bytes
// of the journal. size is the journal's length in bytes; fsBlockSize, when
// not 0, is the filesystem's block size, which the journal's must equal.
func parseSuperblock(b []byte, size int64, fsBlockSize int) (*superblock, error) {
	if len(b) < 1024 {
		return nil, formatErr(0, "journal of %d bytes is shorter than its superblock", len(b))
	}
	be := binary.BigEndian
	if be.Uint32(b[0:]) != magic {
		return nil, formatErr(0, "no journal magic")
	}
	s := &superblock{}
	switch typ := be.Uint32(b[4:]); typ {
	case blockSuperV1:
	case blockSuperV2:
		s.v2 = true
	default:
		return nil, formatErr(4, "block type %d is not a journal superblock", typ)
	}
	s.blockSize = int(be.Uint32(b[0x0C:]))
	s.maxLen = be.Uint32(b[0x10:])
	s.first = be.Uint32(b[0x14:])
	s.sequence = be.Uint32(b[0x18:])
	s.start = be.Uint32(b[0x1C:])
	s.errno = int32(be.Uint32(b[0x20:]))
	if s.v2 {
		s.compat = be.Uint32(b[0x24:])
		s.incompat = be.Uint32(b[0x28:])
		copy(s.uuid[:], b[0x30:0x40])
		s.fcBlocks = be.Uint32(b[0x54:])
		if s.fcBlocks == 0 {
			s.fcBlocks = defaultFastCommitBlocks
		}
	}
	bs := s.blockSize
	if bs < 1024 || bs > 65536 || bs&(bs-1) != 0 {
		return nil, formatErr(0x0C, "block size %d is not a power of two from 1024 to 65536", bs)
	}
	if fsBlockSize != 0 && bs != fsBlockSize {
		return nil, formatErr(0x0C, "journal block size %d differs from the filesystem's %d", bs, fsBlockSize)
	}
	if s.maxLen > maxJournalBlocks {
		return nil, formatErr(0x10, "journal of %d blocks is larger than any real one", s.maxLen)
	}
	if int64(s.maxLen)*int64(bs) > size {
		return nil, formatErr(0x10, "journal of %d blocks of %d bytes is longer than its %d bytes", s.maxLen, bs, size)
	}
	if s.first == 0 || s.first >= s.maxLen {
		return nil, formatErr(0x14, "first log block %d outside the journal of %d blocks", s.first, s.maxLen)
	}
	if s.start != 0 && (s.start < s.first || s.start >= s.logEnd()) {
		return nil, formatErr(0x1C, "log start %d outside the log (blocks %d to %d)", s.start, s.first, s.logEnd()-1)
	}
	if unknown := s.incompat &^ incompatKnown; unknown != 0 {
		return nil, &FormatError{Off: 0x28, What: fmt.Sprintf("incompatible features 0x%x", unknown), Err: ErrUnsupported}
	}
	if s.has(incompatCsumV2) && s.has(incompatCsumV3) {
		return nil, formatErr(0x28, "both checksum v2 and v3 are set")
	}
	if s.csumV23() {
		if t := b[0x50]; t != checksumTypeCRC32C {
			return nil, formatErr(0x50, "checksum type %d is not crc32c", t)
		}
		stored := be.Uint32(b[0xFC:])
		var sb [1024]byte
		copy(sb[:], b[:1024])
		binary.BigEndian.PutUint32(sb[0xFC:], 0)
		if got := crc32c(^uint32(0), sb[:]); got != stored {
			return nil, &FormatError{Off: 0xFC, What: fmt.Sprintf("stored 0x%08x, computed 0x%08x", stored, got), Err: ErrChecksum}
		}
		s.csumSeed = crc32c(^uint32(0), s.uuid[:])
	}
	return s, nil
}
