package xpress

import (
	"encoding/binary"

	"github.com/ckptfs/ckptfs/internal/lzmatch"
)

// The bitstream is read 64 bits at a time: buf holds nb bits, the next at
// bit 63 and zeros below them, loaded from whole 16-bit words up to pos;
// the decoding loop keeps at least 32 bits loaded, enough for a code and
// the offset bits of a match.
// [MS-XCA] defines where the bytes of long match lengths sit by a reader
// holding only 16 to 31 bits after each code: the words buf holds beyond
// those go back to the input when such a byte is read (wordsAhead), and
// when the block ends.

// wordsAhead returns how many of the nb loaded bits' words the [MS-XCA]
// reader would not have loaded yet (negative: it would have loaded one
// more).
func wordsAhead(nb uint) int {
	return (int(nb) - 16 - int(nb&15)) / 16
}

// fill loads the words that fit in buf, three or four, when at most 31
// bits are left. in is the compressed data followed by 8 zero bytes, n its
// length without them: words past the end read as zeros, so a stream cut
// short fails on its content.
func fill(in []byte, n int, buf uint64, nb uint, pos int) (uint64, uint, int) {
	x := binary.LittleEndian.Uint64(in[min(pos, n):])
	x = x<<32 | x>>32
	x = x&0xFFFF0000FFFF0000>>16 | x&0x0000FFFF0000FFFF<<16 // first word on top
	k := (64 - nb) &^ 15
	buf |= x >> ((64 - k) & 63) << ((64 - k) & 63) >> (nb & 63)
	return buf, nb + k, pos + int(k>>3)
}

// overlapStep is, for a match offset below 8, the smallest multiple of the
// offset of at least 8: once 8 bytes of a run are written, the rest copies
// 8 bytes at a time from that far back.
var overlapStep = [8]int{0, 8, 8, 9, 8, 10, 12, 14}

// block decodes symbols from in at start until dst (ending at the block's
// end) is full from out, and returns where the next table starts. in is
// the compressed data followed by 8 zero bytes, n its length without them.
//
// Each turn decodes the code whose entry e was looked up in the turn
// before: the next entry is looked up as soon as the bits of this symbol
// are consumed, so the load overlaps with writing the output. Few
// variables live across the loop, so that they all stay in registers.
func (d *decoder) block(dst []byte, out int, in []byte, n, start int) (int, error) {
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
			if length, buf, nb, pos, err = longLength(in[:n], buf, nb, pos); err != nil {
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
		copyMatch(dst, out, offset, length)
		out += length
	}
	return pos - 2*wordsAhead(nb), nil
}

// copyMatch copies a match of length bytes from offset back to dst[out:],
// 8 bytes at a time when dst has room for the last word's overshoot
// (overwritten by what follows).
func copyMatch(dst []byte, out, offset, length int) {
	if out+length+8 > len(dst) {
		lzmatch.Copy(dst, out, offset, length)
		return
	}
	from := out - offset
	if offset >= 8 {
		for i := 0; i < length; i += 8 {
			binary.LittleEndian.PutUint64(dst[out+i:], binary.LittleEndian.Uint64(dst[from+i:]))
		}
		return
	}
	// A run: its first 8 bytes one by one, then 8 at a time from the
	// nearest multiple of the period at least 8 back.
	for i := range 8 {
		dst[out+i] = dst[from+i]
	}
	step := overlapStep[offset]
	for i := 8; i < length; i += 8 {
		binary.LittleEndian.PutUint64(dst[out+i:], binary.LittleEndian.Uint64(dst[out+i-step:]))
	}
}

// longLength reads the bytes of a match length of 15 or more, which
// [MS-XCA] places after the words its reader holds (nb is 17 to 64 here):
// one byte added to 15; when it is 255, 16 bits holding the whole length;
// when those are 0 (newer encoders), 32 bits holding it. It returns the
// length less minMatch and the bitstream after those bytes.
func longLength(src []byte, buf uint64, nb uint, pos int) (int, uint64, uint, int, error) {
	back := wordsAhead(nb)
	pos -= 2 * back
	nb -= uint(16 * back)
	buf = buf >> (64 - nb) << (64 - nb)
	if pos < 0 || pos >= len(src) {
		return 0, 0, 0, 0, formatErr("match length byte past the end of the data")
	}
	v := int(src[pos])
	pos++
	if v != 255 {
		return v + 15, buf, nb, pos, nil
	}
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
	return v, buf, nb, pos, nil
}
