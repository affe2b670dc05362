package btrfs

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// Block group profile bits (btrfs_chunk.type).
const (
	bgData     = 1 << 0
	bgSystem   = 1 << 1
	bgMetadata = 1 << 2
	bgRAID0    = 1 << 3
	bgRAID1    = 1 << 4
	bgDUP      = 1 << 5
	bgRAID10   = 1 << 6
	bgRAID5    = 1 << 7
	bgRAID6    = 1 << 8
	bgRAID1C3  = 1 << 9
	bgRAID1C4  = 1 << 10

	bgProfiles = bgRAID0 | bgRAID1 | bgDUP | bgRAID10 | bgRAID5 | bgRAID6 | bgRAID1C3 | bgRAID1C4
)

const (
	chunkItemSize   = 48
	stripeSize      = 32
	maxStripes      = 64      // btrfs allows more; 64 devices in one chunk is past any guest
	maxChunks       = 1 << 20 // a 16 EiB device of 16 GiB chunks
	maxStripeTotal  = 1 << 22 // stripes of all chunks together: bounds the map's memory
	minStripeLen    = 4096
	maxStripeLen    = 1 << 20 // the kernel writes 64 KiB; larger would size rebuild buffers
	firstChunkTree  = 256
	chunkItemKeyTyp = 228
)

// stripe is one device extent of a chunk.
type stripe struct {
	devID  uint64
	offset uint64
}

// chunk maps a range of logical addresses onto device bytes.
type chunk struct {
	logical    uint64
	length     uint64
	typ        uint64
	stripeLen  uint64
	subStripes int
	stripes    []stripe
}

// parseChunk decodes a btrfs_chunk of logical address logical from b and
// returns it with the number of bytes it took. The stripe count must fit
// the profile as the kernel's chunk checker has it, so that the mapping
// (stripes.go) never indexes past the stripes it was given.
func parseChunk(b []byte, logical uint64, off int64) (chunk, int, error) {
	le := binary.LittleEndian
	if len(b) < chunkItemSize {
		return chunk{}, 0, formatErr(off, "chunk item truncated")
	}
	c := chunk{logical: logical, length: le.Uint64(b[0:]), stripeLen: le.Uint64(b[16:]), typ: le.Uint64(b[24:]),
		subStripes: int(le.Uint16(b[46:]))}
	n := int(le.Uint16(b[44:]))
	if n == 0 || n > maxStripes {
		return chunk{}, 0, formatErr(off+44, "chunk has %d stripes", n)
	}
	need := chunkItemSize + n*stripeSize
	if len(b) < need {
		return chunk{}, 0, formatErr(off, "chunk item of %d stripes truncated", n)
	}
	if c.length == 0 || logical+c.length < logical {
		return chunk{}, 0, formatErr(off, "chunk length 0x%x at logical 0x%x", c.length, logical)
	}
	if sl := c.stripeLen; sl < minStripeLen || sl > maxStripeLen || sl&(sl-1) != 0 {
		return chunk{}, 0, formatErr(off+16, "chunk at logical 0x%x has stripe length 0x%x", logical, sl)
	}
	if err := checkProfile(c.typ, n, c.subStripes); err != nil {
		return chunk{}, 0, formatErr(off+24, "chunk at logical 0x%x: %v", logical, err)
	}
	c.stripes = make([]stripe, n)
	for i := range n {
		p := b[chunkItemSize+i*stripeSize:]
		c.stripes[i] = stripe{devID: le.Uint64(p[0:]), offset: le.Uint64(p[8:])}
	}
	return c, need, nil
}

// checkProfile checks that a chunk's stripe count (and sub-stripe count
// for RAID10) fits its profile.
func checkProfile(typ uint64, n, sub int) error {
	p := typ & bgProfiles
	if p&(p-1) != 0 {
		return fmt.Errorf("several profiles 0x%x", p)
	}
	ok := true
	switch p {
	case 0:
		ok = n == 1
	case bgDUP, bgRAID1:
		ok = n == 2
	case bgRAID1C3:
		ok = n == 3
	case bgRAID1C4:
		ok = n == 4
	case bgRAID10:
		ok = sub == 2 && n%2 == 0
	case bgRAID5:
		ok = n >= 2
	case bgRAID6:
		ok = n >= 3
	}
	if !ok {
		return fmt.Errorf("%d stripes (%d sub-stripes) for profile %s", n, sub, profileName(typ))
	}
	return nil
}

// profileName names a chunk's profile as btrfs-progs does.
func profileName(typ uint64) string {
	switch typ & bgProfiles {
	case 0:
		return "single"
	case bgDUP:
		return "DUP"
	case bgRAID0:
		return "RAID0"
	case bgRAID1:
		return "RAID1"
	case bgRAID1C3:
		return "RAID1C3"
	case bgRAID1C4:
		return "RAID1C4"
	case bgRAID10:
		return "RAID10"
	case bgRAID5:
		return "RAID5"
	case bgRAID6:
		return "RAID6"
	}
	return fmt.Sprintf("0x%x", typ&bgProfiles)
}

// chunkMap is the sorted, non-overlapping set of chunks of the filesystem
// and the devices they lie on.
type chunkMap struct {
	devs    *deviceSet
	chunks  []chunk
	stripes int // over all chunks
}

func (m *chunkMap) add(c chunk) error {
	if len(m.chunks) >= maxChunks || m.stripes+len(c.stripes) > maxStripeTotal {
		return formatErr(-1, "more than %d chunks or %d stripes", maxChunks, maxStripeTotal)
	}
	i := sort.Search(len(m.chunks), func(i int) bool { return m.chunks[i].logical >= c.logical })
	if i < len(m.chunks) && m.chunks[i].logical == c.logical {
		m.stripes += len(c.stripes) - len(m.chunks[i].stripes)
		m.chunks[i] = c // the chunk tree's copy supersedes the bootstrap one
		return nil
	}
	if i > 0 && m.chunks[i-1].logical+m.chunks[i-1].length > c.logical ||
		i < len(m.chunks) && c.logical+c.length > m.chunks[i].logical {
		return formatErr(-1, "chunk at logical 0x%x overlaps another", c.logical)
	}
	m.chunks = append(m.chunks, chunk{})
	copy(m.chunks[i+1:], m.chunks[i:])
	m.chunks[i] = c
	m.stripes += len(c.stripes)
	return nil
}

// loadSysChunks reads the bootstrap chunks kept in the superblock, which
// map at least the chunk tree.
func (m *chunkMap) loadSysChunks(s *superblock) error {
	b := s.sysChunkArray
	base := s.off + 0x32b
	for pos := 0; pos < len(b); {
		if len(b)-pos < keySize {
			return formatErr(base+int64(pos), "system chunk array key truncated")
		}
		k := parseKey(b[pos:])
		if k.typ != chunkItemKeyTyp {
			return formatErr(base+int64(pos), "system chunk array holds item type %d", k.typ)
		}
		pos += keySize
		c, n, err := parseChunk(b[pos:], k.offset, base+int64(pos))
		if err != nil {
			return err
		}
		if err := m.add(c); err != nil {
			return err
		}
		pos += n
	}
	return nil
}

// find returns the chunk holding [logical, logical+n). n must not cross
// a chunk end (callers read nodes and sectors, which never do).
func (m *chunkMap) find(logical uint64, n int) (*chunk, error) {
	i := sort.Search(len(m.chunks), func(i int) bool { return m.chunks[i].logical+m.chunks[i].length > logical })
	if i == len(m.chunks) || m.chunks[i].logical > logical {
		return nil, kindErr(ErrRange, -1, "logical address 0x%x is in no chunk", logical)
	}
	c := &m.chunks[i]
	if logical-c.logical+uint64(n) > c.length {
		return nil, kindErr(ErrRange, -1, "logical range 0x%x+%d crosses the end of its chunk", logical, n)
	}
	return c, nil
}

func (c chunk) String() string {
	return fmt.Sprintf("chunk 0x%x+0x%x %s over %d stripes", c.logical, c.length, profileName(c.typ), len(c.stripes))
}
