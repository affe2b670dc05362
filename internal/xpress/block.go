package xpress

import (
	"encoding/binary"
	"math/bits"

	"github.com/ckptfs/ckptfs/internal/lzmatch"
)

// The bitstream is 16-bit little-endian words read from their top bit,
// with the bytes of long match lengths between two words: [MS-XCA] puts
// them where a reader holding 16 to 31 bits after each code would read its
// next word. block reads up to four words at a time into buf (the next
// bit at bit 63, zeros below the nb loaded ones) and keeps at least 32
// bits loaded, enough for a code and the offset bits of a match; the words
// it holds beyond the [MS-XCA] reader's go back to the input when a length
// byte is read (wordsAhead), and when the block ends.
//
// It reads d.in, a copy of the input followed by 8 zero bytes, so that it
// can load 8 bytes anywhere without a check. A word cut short by the end
// of the input reads as zero, as do the words past it: where the last
// byte is such a word depends on where the current run of words starts,
// so setEnd keeps that byte of the copy zero or not.

// setEnd makes the last byte of d.in what a run of words starting at seg
// reads there: zero when it is a word cut short.
func (d *decoder) setEnd(seg int) {
	n := len(d.src)
	if n == 0 {
		return
	}
	if (n-seg)&1 == 1 {
		d.in[n-1] = 0
	} else {
		d.in[n-1] = d.src[n-1]
	}
}

// wordsAhead returns how many of the words holding the nb loaded bits the
// [MS-XCA] reader would not have loaded yet (negative: it would have
// loaded one more).
func wordsAhead(nb uint) int {
	return (int(nb) - 16 - int(nb&15)) / 16
}

// fill loads the words that fit in buf, three or four, when at most 31
// bits are left; n is the input's length.
func fill(in []byte, n int, buf uint64, nb uint, pos int) (uint64, uint, int) {
	// Four words, the first on top (rotations need no 64-bit constants,
	// which the compiler would keep in a register).
	x := binary.LittleEndian.Uint64(in[min(pos, n):])
	x = uint64(bits.RotateLeft32(uint32(x), 16))<<32 | uint64(bits.RotateLeft32(uint32(x>>32), 16))
	k := (64 - nb) &^ 15
	buf |= x >> ((64 - k) & 63) << ((64 - k) & 63) >> (nb & 63)
	return buf, nb + k, pos + int(k>>3)
}

// block decodes symbols from the input at start until dst (ending at the
// block's end) is full from out, and returns where the next table starts.
//
// Each turn decodes the code whose entry e was looked up in the turn
// before: the next entry is looked up as soon as the bits of this symbol
// are consumed, so the load overlaps with writing the output. Few
// variables live across the loop, so that they stay in registers.
func (d *decoder) block(dst []byte, out, start int) (int, error) {
	n := len(d.src)
	in := d.in[:n+8]
	d.setEnd(start)
	buf, nb, pos := fill(in, n, 0, 0, start)
	e := uint(d.table[buf>>(64-tableBits)])
	for out < len(dst) {
		l := e & 15
		if l == 0 {
			if e, l = d.slow(buf); l == 0 {
				return 0, formatErr("bit pattern with no Huffman code at output byte %d", out)
			}
			e <<= 4
		}
		buf <<= l & 63
		nb -= l
		if e < 256<<4 {
			if nb < 32 {
				buf, nb, pos = fill(in, n, buf, nb, pos)
			}
			dst[out] = byte(e >> 4)
			out++
			e = uint(d.table[buf>>(64-tableBits)])
			continue
		}
		length := int(e>>4) & 15
		offBits := (e >> 8) & 15
		if length == 15 {
			var err error
			if length, buf, nb, pos, err = d.longLength(buf, nb, pos); err != nil {
				return 0, err
			}
		}
		length += minMatch
		offset := 1<<offBits | int(buf>>1>>((63-offBits)&63))
		buf <<= offBits
		nb -= offBits
		if nb < 32 {
			buf, nb, pos = fill(in, n, buf, nb, pos)
		}
		e = uint(d.table[buf>>(64-tableBits)])
		if offset > out {
			return 0, formatErr("match offset %d before the start at output byte %d", offset, out)
		}
		if length > len(dst)-out {
			return 0, formatErr("match of %d bytes past the end at output byte %d", length, out)
		}
		if offset >= 8 && length <= 8 && out+8 <= len(dst) {
			// Most matches: one word, inline.
			binary.LittleEndian.PutUint64(dst[out:], binary.LittleEndian.Uint64(dst[out-offset:]))
		} else {
			lzmatch.Copy(dst, out, offset, length)
		}
		out += length
	}
	return pos - 2*wordsAhead(nb), nil
}

// longLength reads the bytes of a match length of 15 or more, after the
// words the [MS-XCA] reader holds (nb is 17 to 64 here): one byte added
// to 15; when it is 255, 16 bits holding the whole length; when those are
// 0 (newer encoders), 32 bits holding it. It returns the length less
// minMatch and the bitstream after those bytes.
func (d *decoder) longLength(buf uint64, nb uint, pos int) (int, uint64, uint, int, error) {
	src := d.src
	back := wordsAhead(nb)
	pos -= 2 * back
	nb -= uint(16 * back)
	buf = buf >> (64 - nb) << (64 - nb)
	if pos < 0 || pos >= len(src) {
		return 0, 0, 0, 0, formatErr("match length byte past the end of the data")
	}
	v := int(src[pos])
	pos++
	if v == 255 {
		if pos+2 > len(src) {
			return 0, 0, 0, 0, formatErr("match length past the end of the data")
		}
		v = int(binary.LittleEndian.Uint16(src[pos:]))
		pos += 2
		if v == 0 {
			if pos+4 > len(src) {
				return 0, 0, 0, 0, formatErr("match length past the end of the data")
			}
			v = int(binary.LittleEndian.Uint32(src[pos:]))
			pos += 4
		}
		if v < 15 {
			return 0, 0, 0, 0, formatErr("match length %d below its escape", v)
		}
	} else {
		v += 15
	}
	d.setEnd(pos)
	return v, buf, nb, pos, nil
}
