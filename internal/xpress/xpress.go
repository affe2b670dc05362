// Package xpress decodes XPRESS Huffman ("LZ77+Huffman", [MS-XCA] section
// 2.1 and 2.2), the format of the XPRESS4K, XPRESS8K and XPRESS16K chunks of
// Windows Overlay Filter ("system compression") files and of XPRESS WIM
// resources.
//
// Each 64 KiB of output starts with 256 bytes holding 512 four-bit code
// lengths (literals 0-255, then match symbols), followed by a bitstream of
// 16-bit little-endian words read from the most significant bit, with the
// extra bytes of long match lengths interleaved at the word boundary.
// Decompress knows the output size in advance (the caller's chunk size) and
// never writes past it; malformed input gives ErrFormat, never a panic.
package xpress

import (
	"errors"
	"fmt"
	"sync"
)

// ErrFormat means the compressed bytes are not valid XPRESS Huffman data
// for the expected output size.
var ErrFormat = errors.New("xpress: invalid compressed data")

const (
	numSymbols = 512
	tableBytes = numSymbols / 2
	maxCodeLen = 15
	blockSize  = 65536 // output bytes per Huffman table
	minMatch   = 3
)

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// decoders keeps decoders between calls: a decoder is 3 KiB that would
// otherwise be zeroed for every 4 KiB chunk, and it remembers the last
// code it built.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

// maxKeptInput bounds the input copy a pooled decoder keeps: WOF chunks
// are at most 16 KiB compressed, WIM chunks seldom above 64 KiB.
const maxKeptInput = 1 << 20

// Decompress decodes src into all of dst: len(dst) is the uncompressed
// size, known from the container. It returns ErrFormat when src does not
// describe exactly that many bytes' worth of symbols (a match reaching
// before the start or past the end of dst, a code that is not a prefix
// code, a table cut short).
func Decompress(dst, src []byte) error {
	d := decoders.Get().(*decoder)
	err := d.decompress(dst, src)
	d.src = nil
	if cap(d.in) > maxKeptInput {
		d.in = nil
	}
	decoders.Put(d)
	return err
}

func (d *decoder) decompress(dst, src []byte) error {
	// A copy of src with 8 zero bytes after it (see block).
	if cap(d.in) < len(src)+8 {
		d.in = make([]byte, len(src)+8)
	}
	d.in = d.in[:len(src)+8]
	copy(d.in, src)
	clear(d.in[len(src):])
	d.src = src
	out := 0
	pos := 0
	for out < len(dst) {
		if len(src)-pos < tableBytes {
			return formatErr("Huffman table at byte %d cut short", pos)
		}
		if err := d.build((*[tableBytes]byte)(src[pos:])); err != nil {
			return err
		}
		end := min(out+blockSize, len(dst))
		var err error
		if pos, err = d.block(dst[:end], out, pos+tableBytes); err != nil {
			return err
		}
		out = end
	}
	return nil
}
