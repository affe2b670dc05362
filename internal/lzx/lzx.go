// Package lzx decodes LZX as Microsoft uses it in WIM resources and in the
// LZX chunks of Windows Overlay Filter ("system compression") files: every
// chunk (at most 2 MiB, 32 KiB for WOF) is compressed on its own, with a
// window as large as the chunk, no stream header, and x86 call translation
// (E8) always undone with a fixed file size of 12,000,000.
//
// The differences from the cabinet LZX variant: a block's size is one bit
// (set: 32,768 bytes) or 16 bits (24 for windows of 64 KiB and more); the
// code lengths and recent offsets start afresh in every chunk.
//
// Decompress knows the output size in advance and never writes past it;
// malformed input gives ErrFormat, never a panic.
package lzx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/ckptfs/ckptfs/internal/lzmatch"
)

// ErrFormat means the compressed bytes are not valid LZX data for the
// expected output size.
var ErrFormat = errors.New("lzx: invalid compressed data")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

const (
	minMatch        = 2
	numPrimaryLens  = 7
	numLenSymbols   = 249
	numPreSymbols   = 20
	numAlignedSyms  = 8
	maxMainCodeLen  = 16
	defaultBlock    = 32768
	e8FileSize      = 12000000
	offsetAdjust    = 2 // formatted offsets are real offsets plus 2
	MaxChunkSize    = 1 << 21
	blockVerbatim   = 1
	blockAligned    = 2
	blockUncompress = 3
)

// slotBase and slotBits give each offset slot's first formatted offset and
// its number of extra bits.
var slotBase, slotBits [51]uint32

func init() {
	base := uint32(0)
	for i := range slotBase {
		bits := uint32(0)
		if i >= 4 {
			bits = uint32(i/2 - 1)
		}
		if bits > 17 {
			bits = 17
		}
		slotBase[i], slotBits[i] = base, bits
		base += 1 << bits
	}
}

// numSlots returns how many offset slots a window of size bytes needs:
// enough that the last slot's range reaches the window size.
func numSlots(size int) int {
	n := 0
	for n < len(slotBase) && slotBase[n] < uint32(size) {
		n++
	}
	return n
}

// Decompress decodes one chunk src into all of dst: len(dst) is the
// uncompressed size and the window size (at most MaxChunkSize).
func Decompress(dst, src []byte) error {
	if len(dst) > MaxChunkSize {
		return formatErr("chunk of %d bytes larger than %d", len(dst), MaxChunkSize)
	}
	window := 1 << 15
	for window < len(dst) {
		window <<= 1
	}
	d := decoders.Get().(*decoder)
	d.numMain, d.bigBlocks = 256+8*numSlots(window), window >= 1<<16
	d.in = d.b.start(src, d.in)
	err := d.run(dst)
	d.b = bits{}
	if cap(d.in) > maxKeptInput {
		d.in = nil
	}
	decoders.Put(d)
	if err != nil {
		return err
	}
	undoE8(dst)
	return nil
}

// decoders keeps decoders between calls: a decoder is 40 KiB of tables
// that would otherwise be zeroed for every chunk.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

// maxKeptInput bounds the input copy a pooled decoder keeps (WOF chunks
// are at most 32 KiB compressed).
const maxKeptInput = 1 << 20

type decoder struct {
	b         bits
	in        []byte // the buffer of b.in, kept between chunks
	numMain   int
	bigBlocks bool
	mainLens  [256 + 8*50]uint8
	lenLens   [numLenSymbols]uint8
	main      huffman
	length    huffman
	aligned   huffman
	pre       huffman
	recent    [3]uint32
}

func (d *decoder) run(dst []byte) error {
	d.recent = [3]uint32{1, 1, 1}
	clear(d.mainLens[:])
	clear(d.lenLens[:])
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
func (d *decoder) readCodes(aligned bool) error {
	if aligned {
		var lens [numAlignedSyms]uint8
		for i := range lens {
			lens[i] = uint8(d.b.read(3))
		}
		if err := d.aligned.build(lens[:], 7, alignBits); err != nil {
			return fmt.Errorf("aligned offset code: %w", err)
		}
	}
	if err := d.readLens(d.mainLens[:256]); err != nil {
		return err
	}
	if err := d.readLens(d.mainLens[256:d.numMain]); err != nil {
		return err
	}
	if err := d.main.build(d.mainLens[:d.numMain], maxMainCodeLen, mainBits); err != nil {
		return fmt.Errorf("main code: %w", err)
	}
	if err := d.readLens(d.lenLens[:]); err != nil {
		return err
	}
	if err := d.length.build(d.lenLens[:], maxMainCodeLen, lengthBits); err != nil {
		return fmt.Errorf("length code: %w", err)
	}
	return nil
}

// readLens reads code lengths through a pretree of 20 symbols: 0-16 change
// a length by subtracting mod 17, 17 and 18 are runs of zeros, 19 a short
// run of one changed length.
func (d *decoder) readLens(lens []uint8) error {
	var pl [numPreSymbols]uint8
	for i := range pl {
		pl[i] = uint8(d.b.read(4))
	}
	pre := &d.pre
	if err := pre.build(pl[:], 15, preBits); err != nil {
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
// block into dst[out:end]. The bit reader's state lives in local variables
// here (so in registers), and goes back to d.b at the end.
func (d *decoder) decodeBlock(dst []byte, out, end int, aligned bool) error {
	dst = dst[:end]
	in, n := d.b.in, len(d.b.src)
	buf, nb, pos := d.b.buf, d.b.nb, d.b.pos
	for out < len(dst) {
		if nb < 32 {
			buf, nb, pos = fill(in, n, buf, nb, pos)
		}
		e := d.main.table[buf>>(64-mainBits)]
		sym, l := int(e>>5), uint(e&31)
		if l == 0 {
			var err error
			if sym, l, err = d.main.slow(buf); err != nil {
				return err
			}
		}
		buf <<= l & 63
		nb -= l
		if sym < 256 {
			dst[out] = byte(sym)
			out++
			continue
		}
		sym -= 256
		length := sym & 7
		slot := sym >> 3
		if length == numPrimaryLens {
			if nb < 32 {
				buf, nb, pos = fill(in, n, buf, nb, pos)
			}
			e := d.length.table[buf>>(64-lengthBits)]
			s, l := int(e>>5), uint(e&31)
			if l == 0 {
				var err error
				if s, l, err = d.length.slow(buf); err != nil {
					return err
				}
			}
			buf <<= l & 63
			nb -= l
			length += s
		}
		length += minMatch
		var offset uint32
		if slot < 3 {
			offset = d.recent[slot]
			d.recent[slot] = d.recent[0]
			d.recent[0] = offset
		} else {
			if nb < 32 {
				buf, nb, pos = fill(in, n, buf, nb, pos)
			}
			k := uint(slotBits[slot%len(slotBits)])
			var extra uint32
			if aligned && k >= 3 {
				extra = uint32(buf>>1>>((63-(k-3))&63)) << 3
				buf <<= (k - 3) & 63
				nb -= k - 3
				if nb < 32 {
					buf, nb, pos = fill(in, n, buf, nb, pos)
				}
				e := d.aligned.table[buf>>(64-alignBits)]
				if e&31 == 0 {
					return formatErr("bit pattern with no aligned offset code")
				}
				buf <<= e & 31
				nb -= uint(e & 31)
				extra += e >> 5
			} else {
				extra = uint32(buf >> 1 >> ((63 - k) & 63))
				buf <<= k & 63
				nb -= k
			}
			offset = slotBase[slot%len(slotBase)] + extra - offsetAdjust
			d.recent[2], d.recent[1], d.recent[0] = d.recent[1], d.recent[0], offset
		}
		if int64(offset) > int64(out) || offset == 0 {
			return formatErr("match offset %d at output byte %d", offset, out)
		}
		if length > len(dst)-out {
			return formatErr("match of %d bytes past the block end at output byte %d", length, out)
		}
		if o := int(offset); o >= 8 && length <= 8 && out+8 <= len(dst) {
			// Most matches: one word, inline.
			binary.LittleEndian.PutUint64(dst[out:], binary.LittleEndian.Uint64(dst[out-o:]))
		} else {
			lzmatch.Copy(dst, out, o, length)
		}
		out += length
	}
	d.b.buf, d.b.nb, d.b.pos = buf, nb, pos
	return nil
}

// copyBlock reads an uncompressed block: the bitstream is aligned to the
// next 16-bit word (a whole word is skipped when already aligned), three
// recent offsets follow, then the bytes, padded to an even count.
func (d *decoder) copyBlock(dst []byte, out, end int) error {
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

// undoE8 reverts the x86 call translation: the 32-bit operand after each
// 0xE8 byte (except in the last 10 bytes) was made absolute by the encoder.
func undoE8(b []byte) {
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
