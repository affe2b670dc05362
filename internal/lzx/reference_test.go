package lzx

// The decoder as it was before the bit reader kept its state in
// registers: kept as the reference FuzzLZX compares Decompress with.

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/ckptfs/ckptfs/internal/lzmatch"
)

// refBits reads the LZX bitstream: 16-bit little-endian words, each read from
// its most significant bit. Reads past the end give zero bits and are
// counted, so a stream cut short fails once, at the end of the chunk,
// instead of at every refill.
type refBits struct {
	src  []byte
	pos  int    // next word to load
	buf  uint64 // loaded bits, the next one at bit 63
	n    uint   // number of loaded bits
	over int    // words read past the end
}

func (b *refBits) fill(want uint) {
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
func (b *refBits) need(want uint) {
	if b.n < want {
		b.load(want)
	}
}

// load is need's slow part, out of line so need inlines.
func (b *refBits) load(want uint) {
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

func (b *refBits) consume(n uint) {
	b.buf <<= n
	b.n -= n
}

func (b *refBits) read(n uint) uint32 {
	b.need(n)
	v := uint32(b.buf >> (64 - n)) // 0 when n is 0: Go shifts by 64 to 0
	b.buf <<= n
	b.n -= n
	return v
}

// align moves to the next 16-bit word boundary, or past the whole next
// word when the stream is already on one, as the uncompressed block header
// requires. Words loaded ahead go back to the input.
func (b *refBits) align() {
	used := b.pos*8 - int(b.n)
	if used%16 == 0 {
		used += 16
	} else {
		used += 16 - used%16
	}
	b.reset(used / 8)
}

// reset restarts the bitstream at byte p.
func (b *refBits) reset(p int) {
	b.pos, b.buf, b.n = p, 0, 0
}

func (b *refBits) overrun() bool { return b.over > 2 }

// refTableBits is the width of a code's direct decoding table; longer codes
// are decoded canonically (see slow). A full 16-bit table per block would
// cost more to fill than most blocks cost to decode.
const refTableBits = 10

// refHuffman is a canonical Huffman code: table maps the next refTableBits bits
// to symbol<<5 | length (0: a longer code, or none); first, start and
// count describe the code per length, syms lists the symbols in code
// order.
type refHuffman struct {
	table  [1 << refTableBits]uint32
	maxLen uint
	used   int
	count  [17]int
	first  [17]int
	start  [17]int
	syms   []uint16
}

func (h *refHuffman) build(lens []uint8, limit uint) error {
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
	for l := 1; l <= min(refTableBits, int(h.maxLen)); l++ {
		for i := range h.count[l] {
			c := h.first[l] + i
			e := uint32(h.syms[h.start[l]+i])<<5 | uint32(l)
			for j := c << (refTableBits - l); j < (c+1)<<(refTableBits-l); j++ {
				h.table[j] = e
			}
		}
	}
	return nil
}

func (h *refHuffman) decode(b *refBits) (int, error) {
	b.need(16)
	v := uint32(b.buf >> 48) // the next 16 bits: no code is longer
	e := h.table[v>>(16-refTableBits)]
	if e&31 == 0 {
		return h.slow(b, v)
	}
	b.buf <<= e & 31
	b.n -= uint(e & 31)
	return int(e >> 5), nil
}

// slow decodes a code longer than refTableBits (or finds none) from the next
// 16 bits v.
func (h *refHuffman) slow(b *refBits, v uint32) (int, error) {
	if h.used == 0 {
		return 0, formatErr("symbol read from an empty code")
	}
	for l := uint(refTableBits + 1); l <= h.maxLen; l++ {
		c := int(v >> (16 - l))
		if i := c - h.first[l]; i >= 0 && i < h.count[l] {
			b.consume(l)
			return int(h.syms[h.start[l]+i]), nil
		}
	}
	return 0, formatErr("bit pattern with no Huffman code")
}

// Decompress decodes one chunk src into all of dst: len(dst) is the
// uncompressed size and the window size (at most MaxChunkSize).
func refDecompress(dst, src []byte) error {
	if len(dst) > MaxChunkSize {
		return formatErr("chunk of %d bytes larger than %d", len(dst), MaxChunkSize)
	}
	window := 1 << 15
	for window < len(dst) {
		window <<= 1
	}
	d := refDecoder{numMain: 256 + 8*numSlots(window), bigBlocks: window >= 1<<16}
	d.b.src = src
	if err := d.run(dst); err != nil {
		return err
	}
	refUndoE8(dst)
	return nil
}

type refDecoder struct {
	b         refBits
	numMain   int
	bigBlocks bool
	mainLens  [256 + 8*50]uint8
	lenLens   [numLenSymbols]uint8
	main      refHuffman
	length    refHuffman
	aligned   refHuffman
	recent    [3]uint32
}

func (d *refDecoder) run(dst []byte) error {
	d.recent = [3]uint32{1, 1, 1}
	out := 0
	for out < len(dst) {
		typ := d.b.read(3)
		size := defaultBlock
		if d.b.read(1) == 0 {
			size = int(d.b.read(16))
			if d.bigBlocks {
				size = size<<8 | int(d.b.read(8))
			}
		}
		if size == 0 {
			return formatErr("empty block at output byte %d", out)
		}
		end := out + size
		if end > len(dst) {
			return formatErr("block of %d bytes past the chunk end at output byte %d", size, out)
		}
		var err error
		switch typ {
		case blockVerbatim, blockAligned:
			if err = d.readCodes(typ == blockAligned); err == nil {
				err = d.decodeBlock(dst, out, end, typ == blockAligned)
			}
		case blockUncompress:
			err = d.copyBlock(dst, out, end)
		default:
			err = formatErr("block type %d at output byte %d", typ, out)
		}
		if err != nil {
			return err
		}
		out = end
	}
	if d.b.overrun() {
		return formatErr("compressed data cut short")
	}
	return nil
}

// readCodes reads the Huffman codes of a verbatim or aligned block. The
// main and length code lengths are coded as differences from those of
// the previous block of the chunk.
func (d *refDecoder) readCodes(aligned bool) error {
	if aligned {
		var lens [numAlignedSyms]uint8
		for i := range lens {
			lens[i] = uint8(d.b.read(3))
		}
		if err := d.aligned.build(lens[:], 7); err != nil {
			return fmt.Errorf("aligned offset code: %w", err)
		}
	}
	if err := d.readLens(d.mainLens[:256]); err != nil {
		return err
	}
	if err := d.readLens(d.mainLens[256:d.numMain]); err != nil {
		return err
	}
	if err := d.main.build(d.mainLens[:d.numMain], maxMainCodeLen); err != nil {
		return fmt.Errorf("main code: %w", err)
	}
	if err := d.readLens(d.lenLens[:]); err != nil {
		return err
	}
	if err := d.length.build(d.lenLens[:], maxMainCodeLen); err != nil {
		return fmt.Errorf("length code: %w", err)
	}
	return nil
}

// readLens reads code lengths through a pretree of 20 symbols: 0-16 change
// a length by subtracting mod 17, 17 and 18 are runs of zeros, 19 a short
// run of one changed length.
func (d *refDecoder) readLens(lens []uint8) error {
	var pl [numPreSymbols]uint8
	for i := range pl {
		pl[i] = uint8(d.b.read(4))
	}
	var pre refHuffman
	if err := pre.build(pl[:], 15); err != nil {
		return fmt.Errorf("pretree: %w", err)
	}
	for i := 0; i < len(lens); {
		sym, err := pre.decode(&d.b)
		if err != nil {
			return err
		}
		switch {
		case sym < 17:
			lens[i] = uint8((int(lens[i]) + 17 - sym) % 17)
			i++
		case sym == 17 || sym == 18:
			var n int
			if sym == 17 {
				n = 4 + int(d.b.read(4))
			} else {
				n = 20 + int(d.b.read(5))
			}
			for ; n > 0 && i < len(lens); n-- {
				lens[i] = 0
				i++
			}
		default:
			n := 4 + int(d.b.read(1))
			s, err := pre.decode(&d.b)
			if err != nil {
				return err
			}
			if s > 17 {
				return formatErr("pretree run of symbol %d", s)
			}
			v := uint8((int(lens[i]) + 17 - s) % 17)
			for ; n > 0 && i < len(lens); n-- {
				lens[i] = v
				i++
			}
		}
	}
	return nil
}

// decodeBlock decodes the literals and matches of one verbatim or aligned
// block into dst[out:end].
func (d *refDecoder) decodeBlock(dst []byte, out, end int, aligned bool) error {
	b := &d.b
	for out < end {
		// d.main.decode(b), by hand: the call costs a fifth of the time.
		b.need(16)
		v := uint32(b.buf >> 48)
		e := d.main.table[v>>(16-refTableBits)]
		sym := int(e >> 5)
		if e&31 != 0 {
			b.buf <<= e & 31
			b.n -= uint(e & 31)
		} else {
			var err error
			if sym, err = d.main.slow(b, v); err != nil {
				return err
			}
		}
		if sym < 256 {
			dst[out] = byte(sym)
			out++
			continue
		}
		sym -= 256
		length := sym & 7
		slot := sym >> 3
		if length == numPrimaryLens {
			l, err := d.length.decode(&d.b)
			if err != nil {
				return err
			}
			length += l
		}
		length += minMatch
		var offset uint32
		if slot < 3 {
			offset = d.recent[slot]
			d.recent[slot] = d.recent[0]
			d.recent[0] = offset
		} else {
			n := slotBits[slot]
			extra := uint32(0)
			if aligned && n >= 3 {
				extra = d.b.read(uint(n-3)) << 3
				a, err := d.aligned.decode(&d.b)
				if err != nil {
					return err
				}
				extra += uint32(a)
			} else {
				extra = d.b.read(uint(n))
			}
			offset = slotBase[slot] + extra - offsetAdjust
			d.recent[2], d.recent[1], d.recent[0] = d.recent[1], d.recent[0], offset
		}
		if int64(offset) > int64(out) || offset == 0 {
			return formatErr("match offset %d at output byte %d", offset, out)
		}
		if length > end-out {
			return formatErr("match of %d bytes past the block end at output byte %d", length, out)
		}
		lzmatch.Copy(dst, out, int(offset), length)
		out += length
	}
	return nil
}

// copyBlock reads an uncompressed block: the bitstream is aligned to the
// next 16-bit word (a whole word is skipped when already aligned), three
// recent offsets follow, then the bytes, padded to an even count.
func (d *refDecoder) copyBlock(dst []byte, out, end int) error {
	d.b.align()
	p := d.b.pos
	src := d.b.src
	if p+12 > len(src) {
		return formatErr("uncompressed block header cut short")
	}
	for i := range d.recent {
		d.recent[i] = binary.LittleEndian.Uint32(src[p+4*i:])
		if d.recent[i] == 0 {
			return formatErr("uncompressed block with recent offset 0")
		}
	}
	p += 12
	n := end - out
	if p+n > len(src) {
		return formatErr("uncompressed block of %d bytes cut short", n)
	}
	copy(dst[out:end], src[p:p+n])
	p += n
	if n%2 == 1 {
		p++
	}
	d.b.reset(p)
	return nil
}

// refUndoE8 reverts the x86 call translation: the 32-bit operand after each
// 0xE8 byte (except in the last 10 bytes) was made absolute by the encoder.
func refUndoE8(b []byte) {
	if len(b) <= 10 {
		return
	}
	for i := 0; i < len(b)-10; {
		if b[i] != 0xE8 {
			k := bytes.IndexByte(b[i:len(b)-10], 0xE8)
			if k < 0 {
				return
			}
			i += k
		}
		pos := int32(i)
		abs := int32(binary.LittleEndian.Uint32(b[i+1:]))
		if abs >= 0 {
			if abs < e8FileSize {
				binary.LittleEndian.PutUint32(b[i+1:], uint32(abs-pos))
			}
		} else if abs >= -pos {
			binary.LittleEndian.PutUint32(b[i+1:], uint32(abs+e8FileSize))
		}
		i += 5
	}
}
