package lzx

import (
	"encoding/binary"
	mbits "math/bits"
)

// bits reads the LZX bitstream: 16-bit little-endian words, each read from
// its most significant bit. It loads up to four words at a time from in, a
// copy of the input followed by 8 zero bytes (so 8 bytes load anywhere
// without a check): buf holds nb bits, the next at bit 63, zeros below.
// Words past the end of the input, and a last word cut short, read as
// zeros; the chunk fails at its end when it used more than two of them.
//
// The decoding loop keeps the state in local variables (see fill) and
// puts it back here for the rarer reads.
type bits struct {
	in  []byte // the input, then 8 zero bytes
	src []byte // the input
	pos int    // next word to load
	buf uint64
	nb  uint
}

// start sets the reader on src, copied into the buffer in (grown as
// needed), and returns that buffer.
func (b *bits) start(src, in []byte) []byte {
	n := len(src)
	if cap(in) < n+8 {
		in = make([]byte, n+8)
	}
	in = in[:n+8]
	copy(in, src)
	clear(in[n:])
	if n%2 == 1 {
		in[n-1] = 0 // a word cut short
	}
	*b = bits{in: in, src: src}
	return in
}

// fill loads the words that fit in buf, at least three when at most 31
// bits are left; n is the input's length.
func fill(in []byte, n int, buf uint64, nb uint, pos int) (uint64, uint, int) {
	// Four words, the first on top (rotations need no 64-bit constants,
	// which the compiler would keep in a register).
	x := binary.LittleEndian.Uint64(in[min(pos, n):])
	x = uint64(mbits.RotateLeft32(uint32(x), 16))<<32 | uint64(mbits.RotateLeft32(uint32(x>>32), 16))
	k := (64 - nb) &^ 15
	buf |= x >> ((64 - k) & 63) << ((64 - k) & 63) >> (nb & 63)
	return buf, nb + k, pos + int(k>>3)
}

// need makes at least want (at most 48) bits loaded.
func (b *bits) need(want uint) {
	if b.nb < want {
		b.buf, b.nb, b.pos = fill(b.in, len(b.src), b.buf, b.nb, b.pos)
	}
}

func (b *bits) read(n uint) uint32 {
	b.need(n)
	v := uint32(b.buf >> 1 >> ((63 - n) & 63)) // 0 when n is 0
	b.buf <<= n & 63
	b.nb -= n
	return v
}

// used returns how many bits of the input were read.
func (b *bits) used() int { return b.pos*8 - int(b.nb) }

// align moves to the next 16-bit word boundary, or past the whole next
// word when the stream is already on one, as the uncompressed block header
// requires. Words loaded ahead go back to the input.
func (b *bits) align() {
	used := b.used()
	if used%16 == 0 {
		used += 16
	} else {
		used += 16 - used%16
	}
	b.reset(used / 8)
}

// reset restarts the bitstream at byte p.
func (b *bits) reset(p int) {
	b.pos, b.buf, b.nb = p, 0, 0
}

// overrun reports whether more than two words past the end were used.
func (b *bits) overrun() bool { return b.used() > (len(b.src)&^1)*8+32 }

// Code tables: a code's direct table is tableBits wide for the main code,
// less for the others; longer codes are decoded canonically (see slow).
const (
	mainBits   = 11
	lengthBits = 10
	alignBits  = 7 // aligned offset codes are at most 7 bits long
	preBits    = 8
	maxBits    = 11
)

// huffman is a canonical Huffman code: table maps the next bits bits to
// symbol<<5 | length (0: a longer code, or none); first, start and count
// describe the code per length, syms lists the symbols in code order.
type huffman struct {
	table  [1 << maxBits]uint32
	bits   uint
	maxLen uint
	used   int
	count  [17]int
	first  [17]int
	start  [17]int
	syms   [256 + 8*50]uint16
}

func (h *huffman) build(lens []uint8, limit, bits uint) error {
	h.count = [17]int{}
	h.maxLen, h.used, h.bits = 0, 0, bits
	for _, l := range lens {
		if uint(l) > limit {
			return formatErr("code length %d above %d", l, limit)
		}
		h.count[l&31]++
		h.maxLen = max(h.maxLen, uint(l))
	}
	h.used = len(lens) - h.count[0]
	if h.used == 0 {
		clear(h.table[:1<<bits])
		return nil // an empty code: fine while no symbol is read
	}
	left := 1
	for l := 1; l <= 16; l++ {
		left = left<<1 - h.count[l]
		if left < 0 {
			return formatErr("code lengths over-subscribed")
		}
	}
	var next [17]int
	code, idx := 0, 0
	for l := 1; l <= 16; l++ {
		h.first[l], h.start[l], next[l] = code, idx, idx
		idx += h.count[l]
		code = (code + h.count[l]) << 1
	}
	for sym, l := range lens {
		if l > 0 {
			h.syms[next[l]%len(h.syms)] = uint16(sym)
			next[l]++
		}
	}
	// In code order the codes of up to bits bits cover the table from its
	// start, each 2^(bits-length) entries; longer codes lie past them.
	p := 0
	for l := 1; l <= min(int(bits), int(h.maxLen)); l++ {
		n := 1 << (int(bits) - l)
		for _, s := range h.syms[h.start[l] : h.start[l]+h.count[l]] {
			e := uint32(s)<<5 | uint32(l)
			fill := h.table[p : p+n]
			for j := range fill {
				fill[j] = e
			}
			p += n
		}
	}
	clear(h.table[p : 1<<bits])
	return nil
}

// decode reads one symbol.
func (h *huffman) decode(b *bits) (int, error) {
	b.need(16)
	e := h.table[(b.buf>>(64-h.bits))%(1<<maxBits)]
	if e&31 == 0 {
		sym, l, err := h.slow(b.buf)
		b.buf <<= l & 63
		b.nb -= l
		return sym, err
	}
	b.buf <<= e & 31
	b.nb -= uint(e & 31)
	return int(e >> 5), nil
}

// slow decodes a code longer than the table's (or finds none) from the
// top of buf, and returns its symbol and length.
func (h *huffman) slow(buf uint64) (int, uint, error) {
	if h.used == 0 {
		return 0, 0, formatErr("symbol read from an empty code")
	}
	for l := h.bits + 1; l <= h.maxLen; l++ {
		c := int(buf >> (64 - l))
		if i := c - h.first[l]; i >= 0 && i < h.count[l] {
			return int(h.syms[(h.start[l]+i)%len(h.syms)]), l, nil
		}
	}
	return 0, 0, formatErr("bit pattern with no Huffman code")
}
