// Package lzmatch copies LZ77 matches for the decoders of internal/xpress
// and internal/lzx: a match repeats bytes already written, possibly
// overlapping what it writes (a run).
package lzmatch

import "encoding/binary"

// Copy copies length bytes from offset back to dst[out:]: eight at a
// time when the source is at least eight bytes back and dst has room for
// the last word's overshoot (overwritten by what follows), else byte by
// byte where the source overlaps the destination (a run), or by doubling
// for a long run.
func Copy(dst []byte, out, offset, length int) {
	src := out - offset
	if offset >= 8 && out+length+8 <= len(dst) {
		for i := 0; i < length; i += 8 {
			binary.LittleEndian.PutUint64(dst[out+i:], binary.LittleEndian.Uint64(dst[src+i:]))
		}
		return
	}
	if offset >= length {
		copy(dst[out:out+length], dst[src:src+length])
		return
	}
	if length < 16 {
		for i := range length {
			dst[out+i] = dst[src+i]
		}
		return
	}
	// A long run: dst[src:out] repeats with period offset, and copying
	// it whole doubles it.
	end := out + length
	for out < end {
		n := min(out-src, end-out)
		copy(dst[out:out+n], dst[src:src+n])
		out += n
	}
}
