package ntfs

import "encoding/binary"

// lznt1ChunkSize is the uncompressed size of one LZNT1 chunk.
const lznt1ChunkSize = 4096

// lznt1Decompress decodes LZNT1 data from src into dst and returns the
// number of bytes produced. Decoding stops at a zero chunk header, at the
// end of src, or when dst is full; bytes of dst past the result are left
// as they were. Malformed input gives ErrFormat, never a panic.
func lznt1Decompress(dst, src []byte) (int, error) {
	out := 0
	for len(src) >= 2 && out < len(dst) {
		h := binary.LittleEndian.Uint16(src)
		if h == 0 {
			break
		}
		size := int(h&0x0FFF) + 1
		if 2+size > len(src) {
			return out, formatErr(-1, "LZNT1 chunk of %d bytes runs past the compressed data", size)
		}
		chunk := src[2 : 2+size]
		src = src[2+size:]
		end := out + lznt1ChunkSize
		if end > len(dst) {
			end = len(dst)
		}
		if h&0x8000 == 0 {
			// Stored chunk: copied as is.
			out += copy(dst[out:end], chunk)
			continue
		}
		n, err := lznt1Chunk(dst[out:end], chunk)
		if err != nil {
			return out, err
		}
		out += n
		if n < lznt1ChunkSize && out < len(dst) && len(src) >= 2 && binary.LittleEndian.Uint16(src) != 0 {
			// A short chunk that is not the last one: the rest of its
			// 4 KiB is zeros.
			clear(dst[out:end])
			out = end
		}
	}
	return out, nil
}

// lznt1Chunk decodes one compressed chunk into dst (at most 4 KiB).
func lznt1Chunk(dst, src []byte) (int, error) {
	out, in := 0, 0
	for in < len(src) {
		flags := src[in]
		in++
		for bit := 0; bit < 8 && in < len(src); bit++ {
			if flags&(1<<bit) == 0 {
				if out >= len(dst) {
					return out, nil
				}
				dst[out] = src[in]
				out++
				in++
				continue
			}
			if in+2 > len(src) {
				return out, formatErr(-1, "LZNT1 back-reference truncated")
			}
			tok := int(binary.LittleEndian.Uint16(src[in:]))
			in += 2
			// The split between offset and length bits depends on how far
			// into the chunk we are: more offset bits as the window grows.
			lenBits := 12
			for p := out - 1; p >= 0x10; p >>= 1 {
				lenBits--
			}
			length := tok&(1<<lenBits-1) + 3
			back := tok>>lenBits + 1
			if back > out {
				return out, formatErr(-1, "LZNT1 back-reference %d before the start of the chunk at %d", back, out)
			}
			for k := 0; k < length; k++ {
				if out >= len(dst) {
					return out, nil
				}
				dst[out] = dst[out-back]
				out++
			}
		}
	}
	return out, nil
}
