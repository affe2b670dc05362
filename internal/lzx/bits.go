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

// need makes at least want (at most 32) bits loaded. Far from the end of
// the input it loads two or three words at once; near it, only the words
// wanted, so reads past the end are counted as before.
func (b *bits) need(want uint) {
	if b.n < want {
		b.load(want)
	}
}

// load is need's slow part, out of line so need inlines.
func (b *bits) load(want uint) {
	if b.pos+8 <= len(b.src) {
		x := binary.LittleEndian.Uint64(b.src[b.pos:])
		w := x&0xFFFF<<32 | x>>16&0xFFFF<<16 | x>>32&0xFFFF // three words, first on top
		if b.n <= 16 {
			b.buf |= w << (16 - b.n)
			b.n += 48
			b.pos += 6
		} else {
			b.buf |= w >> 16 << (32 - b.n)
			b.n += 32
			b.pos += 4
		}
		return
	}
	b.fill(want)
}

func (b *bits) consume(n uint) {
	b.buf <<= n
	b.n -= n
}

func (b *bits) read(n uint) uint32 {
	b.need(n)
	v := uint32(b.buf >> (64 - n)) // 0 when n is 0: Go shifts by 64 to 0
	b.buf <<= n
	b.n -= n
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

// tableBits is the width of a code's direct decoding table; longer codes
// are decoded canonically (see slow). A full 16-bit table per block would
// cost more to fill than most blocks cost to decode.
const tableBits = 10

// huffman is a canonical Huffman code: table maps the next tableBits bits
// to symbol<<5 | length (0: a longer code, or none); first, start and
// count describe the code per length, syms lists the symbols in code
// order.
type huffman struct {
	table  [1 << tableBits]uint32
	maxLen uint
	used   int
	count  [17]int
	first  [17]int
	start  [17]int
	syms   []uint16
}

func (h *huffman) build(lens []uint8, limit uint) error {
	h.count = [17]int{}
	h.maxLen, h.used = 0, 0
	for _, l := range lens {
		if uint(l) > limit {
			return formatErr("code length %d above %d", l, limit)
		}
		h.count[l]++
		if l > 0 {
			h.used++
		}
		if uint(l) > h.maxLen {
			h.maxLen = uint(l)
		}
	}
	if h.used == 0 {
		return nil // an empty code: fine while no symbol is read
	}
	left := 1
	for l := 1; l <= 16; l++ {
		left = left<<1 - h.count[l]
		if left < 0 {
			return formatErr("code lengths over-subscribed")
		}
	}
	code, idx := 0, 0
	for l := 1; l <= 16; l++ {
		h.first[l], h.start[l] = code, idx
		idx += h.count[l]
		code = (code + h.count[l]) << 1
	}
	if cap(h.syms) < idx {
		h.syms = make([]uint16, idx)
	}
	h.syms = h.syms[:idx]
	next := h.start
	for sym, l := range lens {
		if l > 0 {
			h.syms[next[l]] = uint16(sym)
			next[l]++
		}
	}
	clear(h.table[:])
	for l := 1; l <= min(tableBits, int(h.maxLen)); l++ {
		for i := range h.count[l] {
			c := h.first[l] + i
			e := uint32(h.syms[h.start[l]+i])<<5 | uint32(l)
			for j := c << (tableBits - l); j < (c+1)<<(tableBits-l); j++ {
				h.table[j] = e
			}
		}
	}
	return nil
}

func (h *huffman) decode(b *bits) (int, error) {
	b.need(16)
	v := uint32(b.buf >> 48) // the next 16 bits: no code is longer
	e := h.table[v>>(16-tableBits)]
	if e&31 == 0 {
		return h.slow(b, v)
	}
	b.buf <<= e & 31
	b.n -= uint(e & 31)
	return int(e >> 5), nil
}

// slow decodes a code longer than tableBits (or finds none) from the next
// 16 bits v.
func (h *huffman) slow(b *bits, v uint32) (int, error) {
	if h.used == 0 {
		return 0, formatErr("symbol read from an empty code")
	}
	for l := uint(tableBits + 1); l <= h.maxLen; l++ {
		c := int(v >> (16 - l))
		if i := c - h.first[l]; i >= 0 && i < h.count[l] {
			b.consume(l)
			return int(h.syms[h.start[l]+i]), nil
		}
	}
	return 0, formatErr("bit pattern with no Huffman code")
}
