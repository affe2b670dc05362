package jbd2

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Tag flags of a descriptor block.
const (
	tagEscape   = 0x1 // the block began with the journal magic, stored as zeros
	tagSameUUID = 0x2 // no 16-byte UUID follows the tag
	tagLast     = 0x8 // last tag of the descriptor
)

// tag is one filesystem block a transaction logged.
type tag struct {
	fsBlock uint64
	jBlock  uint32 // where its new contents sit in the journal
	escaped bool
	csum    uint32 // the tag's checksum (v2: low 16 bits)
}

// transaction is what one committed transaction changed.
type transaction struct {
	seq     uint32
	tags    []tag
	revokes []uint64
}

// tidAfter reports a > b for transaction ids, which wrap around.
func tidAfter(a, b uint32) bool { return int32(a-b) > 0 }

// scanner walks the log from its start, as the kernel's scan pass does,
// and keeps every transaction that reached its commit block.
type scanner struct {
	r   io.ReaderAt
	sb  *superblock
	buf []byte

	blk     uint32 // next block to read
	visited int    // blocks read; the log is never longer than limit
	limit   int
	// v1 commit checksum (crc32, big-endian) of the open transaction
	crc32sum uint32
}

func (s *scanner) next(b uint32) uint32 {
	b++
	if b >= s.sb.logEnd() {
		b = s.sb.first
	}
	return b
}

func (s *scanner) read(b uint32, buf []byte) error {
	off := int64(b) * int64(s.sb.blockSize)
	if _, err := s.r.ReadAt(buf, off); err != nil {
		return fmt.Errorf("jbd2: reading journal block %d: %w", b, err)
	}
	return nil
}

// scan returns the committed transactions in log order and the sequence
// number the next transaction would have had.
func (s *scanner) scan() ([]transaction, uint32, error) {
	be := binary.BigEndian
	seq := s.sb.sequence
	cur := transaction{seq: seq}
	var done []transaction
	s.blk = s.sb.start
	s.limit = int(s.sb.logEnd() - s.sb.first)
	s.crc32sum = ^uint32(0)
	for s.visited < s.limit {
		b := s.buf[:s.sb.blockSize]
		if err := s.read(s.blk, b); err != nil {
			return nil, 0, err
		}
		s.visited++
		if be.Uint32(b[0:]) != magic || be.Uint32(b[8:]) != seq {
			break // the end of the log: stale or never-written blocks
		}
		switch be.Uint32(b[4:]) {
		case blockDescriptor:
			if s.sb.csumV23() && !s.tailOK(b) {
				return done, seq, nil
			}
			tags := s.parseTags(b)
			if s.sb.compat&compatChecksum != 0 {
				s.crc32sum = crc32BE(s.crc32sum, b)
			}
			data := s.blk
			for i := range tags {
				if s.visited >= s.limit {
					return done, seq, nil // tags point past the log: incomplete
				}
				data = s.next(data)
				s.visited++
				tags[i].jBlock = data
				if s.sb.compat&compatChecksum != 0 {
					if err := s.read(data, s.dataBuf()); err != nil {
						return nil, 0, err
					}
					s.crc32sum = crc32BE(s.crc32sum, s.dataBuf())
				}
			}
			cur.tags = append(cur.tags, tags...)
			s.blk = s.next(data)
		case blockCommit:
			if !s.commitOK(b) {
				return done, seq, nil
			}
			done = append(done, cur)
			seq++
			cur = transaction{seq: seq}
			s.crc32sum = ^uint32(0)
			s.blk = s.next(s.blk)
		case blockRevoke:
			revokes, ok := s.parseRevokes(b)
			if !ok {
				return done, seq, nil
			}
			cur.revokes = append(cur.revokes, revokes...)
			s.blk = s.next(s.blk)
		default:
			return done, seq, nil
		}
	}
	return done, seq, nil
}

// dataBuf is a second block buffer for the v1 checksum walk, which reads
// data blocks while the descriptor is still in buf.
func (s *scanner) dataBuf() []byte { return s.buf[s.sb.blockSize:] }

// tailOK checks the crc32c tail of a descriptor or revoke block.
func (s *scanner) tailOK(b []byte) bool {
	n := len(b[:s.sb.blockSize])
	stored := binary.BigEndian.Uint32(b[n-4:])
	c := crc32c(s.sb.csumSeed, b[:n-4])
	c = crc32c(c, []byte{0, 0, 0, 0})
	return c == stored
}

// commitOK checks a commit block's checksum: crc32c of the block for v2
// and v3, the crc32 of the transaction's blocks for v1.
func (s *scanner) commitOK(b []byte) bool {
	be := binary.BigEndian
	switch {
	case s.sb.csumV23():
		stored := be.Uint32(b[16:])
		c := crc32c(s.sb.csumSeed, b[:16])
		c = crc32c(c, []byte{0, 0, 0, 0})
		c = crc32c(c, b[20:s.sb.blockSize])
		return c == stored
	case s.sb.compat&compatChecksum != 0 && !s.sb.has(incompatAsyncCommit):
		const crc32Type, crc32Size = 1, 4
		if b[12] == crc32Type && b[13] == crc32Size {
			return be.Uint32(b[16:]) == s.crc32sum
		}
	}
	return true
}

// parseTags reads the block tags of a descriptor block.
func (s *scanner) parseTags(b []byte) []tag {
	be := binary.BigEndian
	size := s.sb.tagBytes()
	end := s.sb.blockSize - s.sb.tailBytes()
	var tags []tag
	for off := 12; off+size <= end; {
		t := tag{fsBlock: uint64(be.Uint32(b[off:]))}
		var flags uint32
		if s.sb.has(incompatCsumV3) {
			flags = be.Uint32(b[off+4:])
			t.fsBlock |= uint64(be.Uint32(b[off+8:])) << 32
			t.csum = be.Uint32(b[off+12:])
		} else {
			t.csum = uint32(be.Uint16(b[off+4:]))
			flags = uint32(be.Uint16(b[off+6:]))
			if s.sb.has(incompat64Bit) {
				t.fsBlock |= uint64(be.Uint32(b[off+8:])) << 32
			}
		}
		t.escaped = flags&tagEscape != 0
		tags = append(tags, t)
		off += size
		if flags&tagSameUUID == 0 {
			off += 16
		}
		if flags&tagLast != 0 {
			break
		}
	}
	return tags
}

// parseRevokes reads the block numbers of a revoke block; ok is false when
// the block is damaged, which ends the log as the kernel ends it.
func (s *scanner) parseRevokes(b []byte) ([]uint64, bool) {
	if s.sb.csumV23() && !s.tailOK(b) {
		return nil, false
	}
	be := binary.BigEndian
	count := int(be.Uint32(b[12:]))
	if count < 16 || count > s.sb.blockSize-s.sb.tailBytes() {
		return nil, false
	}
	size := 4
	if s.sb.has(incompat64Bit) {
		size = 8
	}
	var out []uint64
	for off := 16; off+size <= count; off += size {
		if size == 8 {
			out = append(out, be.Uint64(b[off:]))
		} else {
			out = append(out, uint64(be.Uint32(b[off:])))
		}
	}
	return out, true
}

// dataOK checks a logged block against its tag's checksum (v2 and v3);
// the kernel skips a block that fails it and replays the rest.
func (s *scanner) dataOK(t tag, seq uint32, data []byte) bool {
	if !s.sb.csumV23() {
		return true
	}
	var sq [4]byte
	binary.BigEndian.PutUint32(sq[:], seq)
	c := crc32c(crc32c(s.sb.csumSeed, sq[:]), data)
	if s.sb.has(incompatCsumV3) {
		return c == t.csum
	}
	return c&0xFFFF == t.csum
}
