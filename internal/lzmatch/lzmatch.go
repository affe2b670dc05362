// Package lzmatch copies LZ77 matches for the decoders of internal/xpress
// and internal/lzx: a match repeats bytes already written, possibly
// overlapping what it writes (a run).
package lzmatch

import "encoding/binary"

// overlapStep is, for a match offset below 8, the smallest multiple of the
// offset of at least 8: once 8 bytes of a run are written, the rest
// repeats what lies that far back, 8 bytes at a time.
var overlapStep = [8]int{0, 8, 8, 9, 8, 10, 12, 14}

// Copy copies length bytes from offset back to dst[out:] (offset at least
// 1 and at most out; out+length at most len(dst)). It copies 8 bytes at a
// time when dst has room for the last word's overshoot (overwritten by
// what follows): from the source when it is at least 8 bytes back, else
// (a run) the first 8 bytes one by one, then from the nearest multiple of
// the offset at least 8 back. Near the end of dst it copies byte by byte,
// or by doubling a long run.
func Copy(dst []byte, out, offset, length int) {
	if out+length+8 <= len(dst) {
		from := out - offset
		if offset >= 8 {
			// Most matches are short: one word, then the rest.
			binary.LittleEndian.PutUint64(dst[out:], binary.LittleEndian.Uint64(dst[from:]))
			for i := 8; i < length; i += 8 {
				binary.LittleEndian.PutUint64(dst[out+i:], binary.LittleEndian.Uint64(dst[from+i:]))
			}
			return
		}
		t := dst[out : out+length+8]
		s := dst[from:]
		for i := range 8 {
			t[i] = s[i]
		}
		s = dst[out+8-overlapStep[offset&7]:]
		t = t[8:]
		for len(t) > 8 && len(s) >= 8 {
			binary.LittleEndian.PutUint64(t, binary.LittleEndian.Uint64(s))
			s, t = s[8:], t[8:]
		}
		return
	}
	src := out - offset
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
