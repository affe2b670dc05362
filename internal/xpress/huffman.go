package xpress

// tableBits is the width of the direct decoding table: codes up to that
// long are decoded in one lookup, longer ones canonically (see slow). In
// wimlib's chunks of x86 code and of text nearly all symbols take one
// lookup; a wider table costs more to fill than a 4 KiB chunk gains.
const tableBits = 10

// decoder holds the code of one block: table maps the next tableBits bits
// to symbol<<4 | code length (0: a longer code, or none); first, start and
// count describe the canonical code per length for the longer codes, and
// syms lists the symbols in code order. lens is the length table the code
// was built from (when built is set): chunks of one file often repeat it.
type decoder struct {
	table  [1 << tableBits]uint16
	lens   [tableBytes]byte
	built  bool
	maxLen uint
	count  [maxCodeLen + 1]uint16
	first  [maxCodeLen + 1]uint16 // first code of each length
	start  [maxCodeLen + 1]uint16 // index in syms of that code's symbol
	syms   [2 * numSymbols]uint16 // the used ones, then the unused
	src    []byte                 // the input
	in     []byte                 // a copy of the input (see block)
}

// build makes the canonical code of the 256-byte length table t: codes
// are assigned in order of length, then symbol, starting from all zeros.
func (d *decoder) build(t *[tableBytes]byte) error {
	if d.built && d.lens == *t {
		return nil
	}
	d.built = false
	// Two histograms, the low and high halves of each byte, so that the
	// two counts of one byte do not wait for each other.
	var count, hi [16]uint16
	for _, b := range t {
		count[b&15]++
		hi[b>>4]++
	}
	for l := range count {
		count[l] += hi[l]
	}
	count[0] = 0
	maxLen := uint(0)
	left := 1 // Kraft check: an over-subscribed code is not a prefix code
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - int(count[l])
		if left < 0 {
			return formatErr("Huffman code lengths over-subscribed")
		}
		if count[l] != 0 {
			maxLen = uint(l)
		}
	}
	if maxLen == 0 {
		return formatErr("Huffman table with no codes")
	}
	// Symbols sorted by code: stable by length, the unused ones (length
	// 0) into the spare half of syms, so no branch depends on the data.
	var next [16]uint16
	next[0] = numSymbols
	code, idx := uint16(0), uint16(0)
	for l := 1; l <= maxCodeLen; l++ {
		d.first[l], d.start[l], next[l] = code, idx, idx
		idx += count[l]
		code = (code + count[l]) << 1
	}
	for i, b := range t {
		lo, hi := b&15, b>>4
		d.syms[next[lo]&(2*numSymbols-1)] = uint16(2 * i)
		next[lo]++
		d.syms[next[hi]&(2*numSymbols-1)] = uint16(2*i + 1)
		next[hi]++
	}
	// In code order the codes of up to tableBits bits cover the table
	// from its start, each 2^(tableBits-length) entries; the longer codes
	// (and the unused code space of an incomplete code) lie past them.
	p := 0
	for l := 1; l <= min(tableBits, int(maxLen)); l++ {
		syms := d.syms[d.start[l] : d.start[l]+count[l]]
		switch n := 1 << (tableBits - l); n {
		case 1:
			for i, s := range syms {
				d.table[(p+i)&(1<<tableBits-1)] = s<<4 | uint16(l)
			}
		case 2:
			for i, s := range syms {
				e := s<<4 | uint16(l)
				d.table[(p+2*i)&(1<<tableBits-1)] = e
				d.table[(p+2*i+1)&(1<<tableBits-1)] = e
			}
		default:
			for i, s := range syms {
				e := s<<4 | uint16(l)
				fill := d.table[p+i*n : p+(i+1)*n]
				for j := 0; j+4 <= len(fill); j += 4 {
					fill[j], fill[j+1], fill[j+2], fill[j+3] = e, e, e, e
				}
			}
		}
		p += len(syms) << (tableBits - l)
	}
	clear(d.table[p:])
	d.count, d.maxLen = count, maxLen
	d.lens, d.built = *t, true
	return nil
}

// slow decodes a code longer than tableBits from the top of buf; l is 0
// when no code matches.
func (d *decoder) slow(buf uint64) (sym, l uint) {
	for l := uint(tableBits + 1); l <= d.maxLen; l++ {
		c := uint16(buf >> (64 - l))
		if i := c - d.first[l]; c >= d.first[l] && i < d.count[l] {
			return uint(d.syms[(d.start[l]+i)&(numSymbols-1)]), l
		}
	}
	return 0, 0
}
