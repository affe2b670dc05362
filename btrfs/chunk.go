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

	bgMirrored = bgRAID1 | bgDUP | bgRAID1C3 | bgRAID1C4
	bgStriped  = bgRAID0 | bgRAID10 | bgRAID5 | bgRAID6
)

const (
	chunkItemSize   = 48
	stripeSize      = 32
	maxStripes      = 16
	maxChunks       = 1 << 20 // a 16 EiB device of 16 GiB chunks
	firstChunkTree  = 256
	chunkItemKeyTyp = 228
)

// stripe is one copy of a chunk on a device.
type stripe struct {
	devID  uint64
	offset uint64
}

// chunk maps a range of logical addresses onto device bytes.
type chunk struct {
	logical uint64
	length  uint64
	typ     uint64
	stripes []stripe
}

// parseChunk decodes a btrfs_chunk of logical address logical from b and
// returns it with the number of bytes it took.
func parseChunk(b []byte, logical uint64, off int64) (chunk, int, error) {
	le := binary.LittleEndian
	if len(b) < chunkItemSize {
		return chunk{}, 0, formatErr(off, "chunk item truncated")
	}
	c := chunk{logical: logical, length: le.Uint64(b[0:]), typ: le.Uint64(b[24:])}
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
	for i := range n {
		p := b[chunkItemSize+i*stripeSize:]
		c.stripes = append(c.stripes, stripe{devID: le.Uint64(p[0:]), offset: le.Uint64(p[8:])})
	}
	return c, need, nil
}

// chunkMap is the sorted, non-overlapping set of chunks of the filesystem.
type chunkMap struct {
	devID  uint64
	size   int64 // device size
	chunks []chunk
}

func (m *chunkMap) add(c chunk) error {
	if len(m.chunks) >= maxChunks {
		return formatErr(-1, "more than %d chunks", maxChunks)
	}
	i := sort.Search(len(m.chunks), func(i int) bool { return m.chunks[i].logical >= c.logical })
	if i < len(m.chunks) && m.chunks[i].logical == c.logical {
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

// physical maps the logical range [logical, logical+n) onto the device,
// giving the device offsets of each copy (two for DUP). n must not cross
// a chunk end (callers read nodes and sectors, which never do).
func (m *chunkMap) physical(logical uint64, n int) ([]int64, error) {
	i := sort.Search(len(m.chunks), func(i int) bool { return m.chunks[i].logical+m.chunks[i].length > logical })
	if i == len(m.chunks) || m.chunks[i].logical > logical {
		return nil, kindErr(ErrRange, -1, "logical address 0x%x is in no chunk", logical)
	}
	c := &m.chunks[i]
	rel := logical - c.logical
	if rel+uint64(n) > c.length {
		return nil, kindErr(ErrRange, -1, "logical range 0x%x+%d crosses the end of its chunk", logical, n)
	}
	if c.typ&bgStriped != 0 {
		if len(c.stripes) == 1 && c.stripes[0].devID == m.devID {
			// A striped profile on one stripe is laid out as SINGLE.
		} else {
			return nil, kindErr(ErrDevices, -1, "chunk at logical 0x%x uses a striped profile (0x%x) over %d stripes", c.logical, c.typ, len(c.stripes))
		}
	}
	var out []int64
	for _, s := range c.stripes {
		if s.devID != m.devID {
			continue
		}
		p := s.offset + rel
		if p < s.offset || p > uint64(m.size) || p+uint64(n) > uint64(m.size) {
			return nil, kindErr(ErrRange, -1, "logical 0x%x maps to device byte 0x%x, past the device end", logical, p)
		}
		out = append(out, int64(p))
		if c.typ&bgMirrored == 0 {
			break
		}
	}
	if len(out) == 0 {
		return nil, kindErr(ErrDevices, -1, "chunk at logical 0x%x lies on device %d, this is device %d", c.logical, c.stripes[0].devID, m.devID)
	}
	return out, nil
}

func (c chunk) String() string {
	return fmt.Sprintf("chunk 0x%x+0x%x type 0x%x", c.logical, c.length, c.typ)
}
