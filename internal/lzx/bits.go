package lzx

import "encoding/binary"

// bits reads the LZX bitstream: 16-bit little-endian words, each read from
// its most significant bit. Reads past the end give zero bits and are
// counted, so a stream cut short fails once, at the end of the chunk,
// instead of at every refill.
type bits struct {
	src  []byte
	pos  int    // next word to load
	buf  uint64 // loaded bits, the next one at bit 63
	n    uint   // number of loaded bits
	over int    // words read past the end
}

func (b *bits) fill(want uint) {
	for b.n < want {
		var w uint64
		if b.pos+2 <= len(b.src) {
			w = uint64(binary.LittleEndian.Uint16(b.src[b.pos:]))
		} else {
			b.over++
		}
		b.pos += 2
		b.buf |= w << (48 - b.n)
		b.n += 16
	}
}

func (b *bits) peek(n uint) uint32 {
	b.fill(n)
	return uint32(b.buf >> (64 - n))
}

func (b *bits) consume(n uint) {
	b.buf <<= n
	b.n -= n
}

func (b *bits) read(n uint) uint32 {
	if n == 0 {
		return 0
	}
	v := b.peek(n)
	b.consume(n)
	return v
}

// align moves to the next 16-bit word boundary, or past the whole next
// word when the stream is already on one, as the uncompressed block header
// requires. Words loaded ahead go back to the input.
func (b *bits) align() {
	used := b.pos*8 - int(b.n)
	if used%16 == 0 {
		used += 16
	} else {
		used += 16 - used%16
	}
	b.reset(used / 8)
}

// reset restarts the bitstream at byte p.
func (b *bits) reset(p int) {
	b.pos, b.buf, b.n = p, 0, 0
}

func (b *bits) overrun() bool { return b.over > 2 }

// huffman is a canonical Huffman code decoded through one table indexed
// by the next maxLen bits: entry = symbol<<5 | length (0 = no code).
type huffman struct {
	table  []uint32
	maxLen uint
}

func (h *huffman) build(lens []uint8, limit uint) error {
	var count [17]int
	h.maxLen = 0
	used := 0
	for _, l := range lens {
		if uint(l) > limit {
			return formatErr("code length %d above %d", l, limit)
		}
		count[l]++
		if l > 0 {
			used++
		}
		if uint(l) > h.maxLen {
			h.maxLen = uint(l)
		}
	}
	h.table = h.table[:0]
	if used == 0 {
		return nil // an empty code: fine while no symbol is read
	}
	left := 1
	for l := 1; l <= 16; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return formatErr("code lengths over-subscribed")
		}
	}
	size := 1 << h.maxLen
	if cap(h.table) < size {
		h.table = make([]uint32, size)
	}
	h.table = h.table[:size]
	clear(h.table)
	code := 0
	for l := uint(1); l <= h.maxLen; l++ {
		for sym, sl := range lens {
			if uint(sl) != l {
				continue
			}
			span := 1 << (h.maxLen - l)
			start := code << (h.maxLen - l)
			e := uint32(sym)<<5 | uint32(l)
			for i := start; i < start+span; i++ {
				h.table[i] = e
			}
			code++
		}
		code <<= 1
	}
	return nil
}

func (h *huffman) decode(b *bits) (int, error) {
	if len(h.table) == 0 {
		return 0, formatErr("symbol read from an empty code")
	}
	e := h.table[b.peek(h.maxLen)]
	l := uint(e & 31)
	if l == 0 {
		return 0, formatErr("bit pattern with no Huffman code")
	}
	b.consume(l)
	return int(e >> 5), nil
}
