package xpress

// The decoder as it was before the 64-bit bit reader: a plain reading of
// [MS-XCA], kept as the reference FuzzXpress compares Decompress with.

import (
	"encoding/binary"

	"github.com/ckptfs/ckptfs/internal/lzmatch"
)

func refDecompress(dst, src []byte) error {
	var d refDecoder
	out := 0
	in := 0
	for out < len(dst) {
		if len(src)-in < tableBytes {
			return formatErr("Huffman table at byte %d cut short", in)
		}
		if err := d.build(src[in : in+tableBytes]); err != nil {
			return err
		}
		end := out + blockSize
		if end > len(dst) {
			end = len(dst)
		}
		var err error
		if out, in, err = d.block(dst, out, end, src, in+tableBytes); err != nil {
			return err
		}
	}
	return nil
}

// refTableBits is the width of the direct decoding table; longer codes are
// decoded canonically (see slow). A full 15-bit table would cost more to
// fill than a 4 KiB chunk costs to decode.
const refTableBits = 10

// decoder holds the code of one block: table maps the next refTableBits bits
// to symbol<<4 | code length (0: a longer code, or none); first, start and
// count describe the canonical code per length for the longer codes, and
// syms lists the symbols in code order.
type refDecoder struct {
	lens   [numSymbols]uint8
	table  [1 << refTableBits]uint16
	maxLen uint
	count  [maxCodeLen + 1]int
	first  [maxCodeLen + 1]int // first code of each length
	start  [maxCodeLen + 1]int // index in syms of that code's symbol
	syms   [numSymbols]uint16
}

// build makes the canonical code of the 256-byte length table t: codes
// are assigned in order of length, then symbol, starting from all zeros.
func (d *refDecoder) build(t []byte) error {
	d.count = [maxCodeLen + 1]int{}
	d.maxLen = 0
	for i := range numSymbols {
		l := t[i/2] >> (4 * (i % 2)) & 0xF
		d.lens[i] = l
		d.count[l]++
		if uint(l) > d.maxLen {
			d.maxLen = uint(l)
		}
	}
	if d.maxLen == 0 {
		return formatErr("Huffman table with no codes")
	}
	// Kraft check: an over-subscribed code cannot be a prefix code.
	left := 1
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - d.count[l]
		if left < 0 {
			return formatErr("Huffman code lengths over-subscribed")
		}
	}
	code, idx := 0, 0
	for l := 1; l <= maxCodeLen; l++ {
		d.first[l], d.start[l] = code, idx
		idx += d.count[l]
		code = (code + d.count[l]) << 1
	}
	next := d.start
	for sym := range numSymbols {
		if l := d.lens[sym]; l > 0 {
			d.syms[next[l]] = uint16(sym)
			next[l]++
		}
	}
	clear(d.table[:])
	for l := 1; l <= min(refTableBits, int(d.maxLen)); l++ {
		for i := range d.count[l] {
			c := d.first[l] + i
			e := d.syms[d.start[l]+i]<<4 | uint16(l)
			for j := c << (refTableBits - l); j < (c+1)<<(refTableBits-l); j++ {
				d.table[j] = e
			}
		}
	}
	return nil
}

// slow decodes a code longer than refTableBits from the next 32 bits.
func (d *refDecoder) slow(next uint32) (sym int, l uint) {
	for l := uint(refTableBits + 1); l <= d.maxLen; l++ {
		c := int(next >> (32 - l))
		if i := c - d.first[l]; i >= 0 && i < d.count[l] {
			return int(d.syms[d.start[l]+i]), l
		}
	}
	return 0, 0
}

// bits is the [MS-XCA] bit reader: next holds 32 bits, the next one at
// bit 31; extra counts the bits below the first 16 already loaded. Reads
// past the end of src give zeros so a stream cut short fails on its
// content rather than by index.
type refBits struct {
	src   []byte
	pos   int
	next  uint32
	extra int
}

func (b *refBits) word() uint32 {
	if b.pos+2 > len(b.src) {
		b.pos += 2
		return 0
	}
	w := uint32(binary.LittleEndian.Uint16(b.src[b.pos:]))
	b.pos += 2
	return w
}

func (b *refBits) start(src []byte, pos int) {
	b.src, b.pos = src, pos
	b.next = b.word() << 16
	b.next |= b.word()
	b.extra = 16
}

func (b *refBits) skip(n uint) {
	b.next <<= n
	b.extra -= int(n)
	if b.extra < 0 {
		b.next |= b.word() << uint(-b.extra)
		b.extra += 16
	}
}

// byte reads one of the bytes interleaved with the bitstream.
func (b *refBits) byte() (uint32, error) {
	if b.pos >= len(b.src) {
		return 0, formatErr("match length byte past the end of the data")
	}
	v := uint32(b.src[b.pos])
	b.pos++
	return v, nil
}

func (b *refBits) u16() (uint32, error) {
	if b.pos+2 > len(b.src) {
		return 0, formatErr("match length past the end of the data")
	}
	v := uint32(binary.LittleEndian.Uint16(b.src[b.pos:]))
	b.pos += 2
	return v, nil
}

func (b *refBits) u32() (uint32, error) {
	if b.pos+4 > len(b.src) {
		return 0, formatErr("match length past the end of the data")
	}
	v := binary.LittleEndian.Uint32(b.src[b.pos:])
	b.pos += 4
	return v, nil
}

// block decodes symbols from src at in until dst[out:end] is full, and
// returns the new output and input positions (the next table starts at
// the input position).
func (d *refDecoder) block(dst []byte, out, end int, src []byte, in int) (int, int, error) {
	var b refBits
	b.start(src, in)
	for out < end {
		e := d.table[b.next>>(32-refTableBits)]
		l, sym := uint(e&0xF), int(e>>4)
		if l == 0 {
			if sym, l = d.slow(b.next); l == 0 {
				return 0, 0, formatErr("bit pattern with no Huffman code at output byte %d", out)
			}
		}
		b.skip(l)
		if sym < 256 {
			dst[out] = byte(sym)
			out++
			continue
		}
		sym -= 256
		length := uint32(sym & 15)
		offBits := uint(sym >> 4)
		if length == 15 {
			v, err := b.byte()
			if err != nil {
				return 0, 0, err
			}
			if v == 255 {
				if v, err = b.u16(); err != nil {
					return 0, 0, err
				}
				if v == 0 {
					// Newer encoders write 0 then a 32-bit length.
					if v, err = b.u32(); err != nil {
						return 0, 0, err
					}
				}
				if v < 15 {
					return 0, 0, formatErr("match length %d below its escape", v)
				}
				v -= 15
			}
			length = v + 15
		}
		length += minMatch
		var offset uint32 = 1 << offBits
		if offBits > 0 {
			offset |= b.next >> (32 - offBits)
			b.skip(offBits)
		}
		if int64(offset) > int64(out) {
			return 0, 0, formatErr("match offset %d before the start at output byte %d", offset, out)
		}
		if int64(length) > int64(end-out) {
			return 0, 0, formatErr("match of %d bytes past the end at output byte %d", length, out)
		}
		lzmatch.Copy(dst, out, int(offset), int(length))
		out += int(length)
	}
	return out, b.pos, nil
}
