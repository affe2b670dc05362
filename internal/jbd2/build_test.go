package jbd2

import (
	"bytes"
	"encoding/binary"
)

// testJournal writes small journals by hand, for the cases a kernel run
// does not reliably make (an escaped block, damaged checksums) and as fuzz
// seeds. Blocks are 1 KiB; checksums are v3 when csum is set.
type testJournal struct {
	b     []byte
	bs    int
	seq   uint32
	next  uint32
	csum  bool
	seed  uint32
	feats uint32
}

const testUUID = "ckptfs-jbd2-test"

func newTestJournal(blocks int, csum bool) *testJournal {
	j := &testJournal{b: make([]byte, blocks*1024), bs: 1024, seq: 7, next: 1, csum: csum}
	j.feats = incompatRevoke
	if csum {
		j.feats |= incompatCsumV3
		j.seed = crc32c(^uint32(0), []byte(testUUID))
	}
	return j
}

func (j *testJournal) block(n uint32) []byte { return j.b[int(n)*j.bs : int(n+1)*j.bs] }

func (j *testJournal) header(b []byte, typ uint32, seq uint32) {
	be := binary.BigEndian
	be.PutUint32(b[0:], magic)
	be.PutUint32(b[4:], typ)
	be.PutUint32(b[8:], seq)
}

// super writes the superblock; start 0 means a clean journal.
func (j *testJournal) super(start uint32) {
	b := j.block(0)
	be := binary.BigEndian
	j.header(b, blockSuperV2, 0)
	be.PutUint32(b[0x0C:], uint32(j.bs))
	be.PutUint32(b[0x10:], uint32(len(j.b)/j.bs))
	be.PutUint32(b[0x14:], 1)
	be.PutUint32(b[0x18:], 7)
	be.PutUint32(b[0x1C:], start)
	be.PutUint32(b[0x28:], j.feats)
	copy(b[0x30:], testUUID)
	if j.csum {
		b[0x50] = checksumTypeCRC32C
		be.PutUint32(b[0xFC:], 0)
		be.PutUint32(b[0xFC:], crc32c(^uint32(0), b[:1024]))
	}
}

// txn logs one transaction: each entry of data replaces a filesystem
// block; revokes are written first, in a revoke block.
func (j *testJournal) txn(blocks []uint64, data [][]byte, revokes []uint64) {
	be := binary.BigEndian
	if len(revokes) > 0 {
		r := j.block(j.next)
		j.header(r, blockRevoke, j.seq)
		off := 16
		for _, n := range revokes {
			be.PutUint32(r[off:], uint32(n))
			off += 4
		}
		be.PutUint32(r[12:], uint32(off))
		j.tail(r)
		j.next++
	}
	d := j.block(j.next)
	j.header(d, blockDescriptor, j.seq)
	j.next++
	off := 12
	for i, n := range blocks {
		flags := uint32(0)
		if i > 0 {
			flags |= tagSameUUID
		}
		if i == len(blocks)-1 {
			flags |= tagLast
		}
		body := j.block(j.next)
		copy(body, data[i])
		if be.Uint32(body) == magic {
			flags |= tagEscape
			be.PutUint32(body, 0)
		}
		be.PutUint32(d[off:], uint32(n))
		if j.csum { // 16-byte tags: block, flags, high block, checksum
			be.PutUint32(d[off+4:], flags)
			var sq [4]byte
			be.PutUint32(sq[:], j.seq)
			be.PutUint32(d[off+12:], crc32c(crc32c(j.seed, sq[:]), body))
			off += 16
		} else { // 8-byte tags: block, checksum (none), flags
			be.PutUint16(d[off+6:], uint16(flags))
			off += 8
		}
		if i == 0 {
			off += 16 // the UUID
		}
		j.next++
	}
	j.tail(d)
	c := j.block(j.next)
	j.header(c, blockCommit, j.seq)
	if j.csum {
		be.PutUint32(c[16:], crc32c(j.seed, c))
	}
	j.next++
	j.seq++
}

func (j *testJournal) tail(b []byte) {
	if j.csum {
		binary.BigEndian.PutUint32(b[len(b)-4:], 0)
		binary.BigEndian.PutUint32(b[len(b)-4:], crc32c(j.seed, b))
	}
}

// fill returns a block of 1 KiB of c, or starting with the journal magic
// when c is 0.
func fill(c byte) []byte {
	b := bytes.Repeat([]byte{c}, 1024)
	if c == 0 {
		binary.BigEndian.PutUint32(b, magic)
	}
	return b
}
