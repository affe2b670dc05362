package btrfs

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// decompress decodes a compressed extent (regular or inline) into ram
// bytes. Output the stream does not reach stays zero, as in the kernel.
func decompress(typ uint8, src []byte, ram, sectorSize int) ([]byte, error) {
	out := make([]byte, ram)
	var err error
	switch typ {
	case compZlib:
		err = inflate(out, src)
	case compZstd:
		err = unzstd(out, src)
	case compLZO:
		err = unlzo(out, src, sectorSize)
	default:
		return nil, kindErr(ErrUnsupported, -1, "compression type %d", typ)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func readInto(out []byte, r io.Reader) error {
	_, err := io.ReadFull(r, out)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return nil // short output: the rest reads as zeros
	}
	return err
}

func inflate(out, src []byte) error {
	zr, err := zlib.NewReader(bytes.NewReader(src))
	if err != nil {
		return formatErr(-1, "zlib extent: %v", err)
	}
	if err := readInto(out, zr); err != nil {
		return formatErr(-1, "zlib extent: %v", err)
	}
	return nil
}

// zstdPool holds streaming decoders: the kernel pads a frame to the
// sector with zeros, which DecodeAll would reject as a second frame, and
// the frame may hold less than the extent's sector-rounded size.
var zstdPool = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(64<<20), zstd.WithDecoderMaxWindow(8<<20))
	if err != nil {
		return err
	}
	return d
}}

func unzstd(out, src []byte) error {
	v := zstdPool.Get()
	d, ok := v.(*zstd.Decoder)
	if !ok {
		return formatErr(-1, "zstd decoder: %v", v)
	}
	defer zstdPool.Put(d)
	if err := d.Reset(bytes.NewReader(src)); err != nil {
		return formatErr(-1, "zstd extent: %v", err)
	}
	n, err := io.ReadFull(d, out)
	if err == io.ErrUnexpectedEOF || err == io.EOF || n > 0 && errors.Is(err, zstd.ErrMagicMismatch) {
		// The kernel reads one frame: the sector's zero padding after
		// it is not another.
		err = nil
	}
	if err != nil {
		return formatErr(-1, "zstd extent: %v", err)
	}
	return nil
}

// unlzo decodes btrfs's LZO form: a 32-bit total length, then segments of
// a 32-bit length and an LZO1X block of at most one sector of output; a
// segment header never straddles a sector boundary (the rest is padding).
func unlzo(out, src []byte, sectorSize int) error {
	if len(src) < 4 {
		return formatErr(-1, "LZO extent of %d bytes", len(src))
	}
	total := int(binary.LittleEndian.Uint32(src))
	if total > len(src) || total < 4 {
		return formatErr(-1, "LZO extent says %d bytes, has %d", total, len(src))
	}
	pos, op := 4, 0
	seg := make([]byte, sectorSize)
	for op < len(out) && pos < total {
		if rest := sectorSize - pos%sectorSize; rest < 4 {
			pos += rest
			if pos >= total {
				break
			}
		}
		if pos+4 > total {
			return formatErr(-1, "LZO segment header past the extent end")
		}
		n := int(binary.LittleEndian.Uint32(src[pos:]))
		pos += 4
		if n > total-pos || n == 0 {
			return formatErr(-1, "LZO segment of %d bytes at %d of %d", n, pos, total)
		}
		w, err := lzo1xDecompress(seg, src[pos:pos+n])
		if err != nil {
			return formatErr(-1, "LZO segment at %d: %v", pos, err)
		}
		op += copy(out[op:], seg[:w])
		pos += n
	}
	return nil
}
