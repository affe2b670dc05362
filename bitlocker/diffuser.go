package bitlocker

import "math/bits"

// The Elephant diffuser (Niels Ferguson, "AES-CBC + Elephant diffuser",
// Microsoft 2006) mixes a sector's 32-bit words so that a change to one
// plaintext bit changes the whole sector. Both diffusers are defined in
// their decryption direction, which runs the index forwards; encryption
// undoes each step backwards. Indices wrap around the sector.
//
// Speed: on amd64 a run of sectors goes through vector assembly in groups
// of four or eight, one sector per lane (diffuser_lanes.go: Elephant-128
// decryption 730 -> 1,210 MB per CPU-second with AVX2, 1,070 with SSE2);
// the loops here do the sectors left over, and all of them with the
// purego build tag or on other architectures, where reads of a Windows 7
// volume spend most of their time here. The decryption loops write out the words whose inputs wrap around and run
// the rest in blocks of twenty words whose neighbours stay in variables
// (see aBlocks, bBlocks): no bounds check, no index arithmetic and no
// register copies inside a block, and constant rotations. That took a
// 512-byte sector from about 320 to 225 ns (A) and 165 to 115 ns (B) of
// CPU time. Each word of A depends on the one two before it (an XOR and an
// add), so a cycle of A costs at least a clock per word; A is within a
// quarter of that. Tried and no faster: two sectors interleaved in one
// loop of A (ten ring variables and two pointers do not fit amd64's
// registers: the spills ate the gain; two adjacent 512-byte sectors
// through one pointer at constant offsets fit, and made A 8% faster, the
// decryption 2%: not worth a second copy of the loop), the diffusers over
// the sector's bytes in place through encoding/binary (the compiler
// spills), reading the bytes in B's first cycle and writing them in A's
// last (3%), and interleaving the AES calls of one sector with the
// diffusers of the one before, so the integer units work while AES waits
// (5-8% with the older loops; with these, slower: 626-701 against 743 MB
// per CPU-second, best of 15, whether one call after each block of twenty
// words, around which the ring goes through memory, or seven after each
// cycle of A).

const (
	aCycles = 5
	bCycles = 3
)

var (
	rotA = [4]int{9, 0, 13, 0}
	rotB = [4]int{0, 10, 0, 25}
)

// diffuserADecrypt: d[i] += d[i-2] ^ rot(d[i-5]). The words 0..7, whose
// inputs wrap around, are written out; from word 8 on, blocks of twenty
// words keep d[i-5]..d[i-1] in five variables used as a ring (word i in
// ring slot i mod 5, where its d[i-5] was): each step overwrites the slot
// it read, so no variable is ever copied, and twenty is the period of
// both the ring and the rotation pattern. What the blocks leave (a few
// words of the larger sectors) goes word by word.
func diffuserADecrypt(d []uint32) {
	if !sectorWords(len(d)) {
		diffuserAny(d, aCycles, -2, -5, &rotA)
		return
	}
	for c := 0; c < aCycles; c++ {
		e := d[len(d)-5:]
		w := d[:8:8]
		w[0] += e[3] ^ bits.RotateLeft32(e[0], 9)
		w[1] += e[4] ^ e[1]
		w[2] += w[0] ^ bits.RotateLeft32(e[2], 13)
		w[3] += w[1] ^ e[3]
		w[4] += w[2] ^ bits.RotateLeft32(e[4], 9)
		w[5] += w[3] ^ w[0]
		w[6] += w[4] ^ bits.RotateLeft32(w[1], 13)
		w[7] += w[5] ^ w[2]
		for i := aBlocks(d); i < len(d) && i >= 5; i++ {
			d[i] += d[i-2] ^ bits.RotateLeft32(d[i-5], rotA[i&3])
		}
	}
}

// aBlocks runs diffuser A over words 8.. in blocks of twenty and returns
// the first word it left.
func aBlocks(d []uint32) int {
	// Word 8 is in slot 3 (8 mod 5): slot 3 starts with d[3], ...
	r3, r4, r0, r1, r2 := d[3], d[4], d[5], d[6], d[7]
	i := 8
	for ; i+20 <= len(d); i += 20 {
		s := d[i : i+20 : i+20]
		// i mod 5 is 3, so word i+k is in slot (3+k) mod 5 and its
		// d[i+k-2] in slot (1+k) mod 5; i mod 4 is 0, so the rotations
		// go 9, 0, 13, 0.
		r3 = stepA(&s[0], r1, r3, 9)
		r4 = stepA(&s[1], r2, r4, 0)
		r0 = stepA(&s[2], r3, r0, 13)
		r1 = stepA(&s[3], r4, r1, 0)
		r2 = stepA(&s[4], r0, r2, 9)
		r3 = stepA(&s[5], r1, r3, 0)
		r4 = stepA(&s[6], r2, r4, 13)
		r0 = stepA(&s[7], r3, r0, 0)
		r1 = stepA(&s[8], r4, r1, 9)
		r2 = stepA(&s[9], r0, r2, 0)
		r3 = stepA(&s[10], r1, r3, 13)
		r4 = stepA(&s[11], r2, r4, 0)
		r0 = stepA(&s[12], r3, r0, 9)
		r1 = stepA(&s[13], r4, r1, 0)
		r2 = stepA(&s[14], r0, r2, 13)
		r3 = stepA(&s[15], r1, r3, 0)
		r4 = stepA(&s[16], r2, r4, 9)
		r0 = stepA(&s[17], r3, r0, 0)
		r1 = stepA(&s[18], r4, r1, 13)
		r2 = stepA(&s[19], r0, r2, 0)
	}
	return i
}

// stepA is one word of diffuser A: *p += m2 ^ rot(m5), m2 and m5 being
// the words two and five before it; it returns the new word.
func stepA(p *uint32, m2, m5 uint32, rot int) uint32 {
	x := *p + (m2 ^ bits.RotateLeft32(m5, rot))
	*p = x
	return x
}

// diffuserBDecrypt: d[i] += d[i+2] ^ rot(d[i+5]). Up to the last five
// words every input is a word this pass has not changed yet; blocks of
// twenty keep the unchanged d[i]..d[i+4] in a ring (d[k] in slot k mod 5)
// and load each word once, as d[i+5]. The words the blocks leave go one
// by one, and the last five, whose inputs wrap around to words already
// changed, are written out (the word count is a multiple of four, so
// their rotations are fixed).
func diffuserBDecrypt(d []uint32) {
	n := len(d)
	if !sectorWords(n) {
		diffuserAny(d, bCycles, 2, 5, &rotB)
		return
	}
	for c := 0; c < bCycles; c++ {
		for i := bBlocks(d); i < n-5; i++ {
			d[i] += d[i+2] ^ bits.RotateLeft32(d[i+5], rotB[i&3])
		}
		w, e := d[:5:5], d[n-5:]
		e[0] += e[2] ^ bits.RotateLeft32(w[0], 25)
		e[1] += e[3] ^ w[1]
		e[2] += e[4] ^ bits.RotateLeft32(w[2], 10)
		e[3] += w[0] ^ w[3]
		e[4] += w[1] ^ bits.RotateLeft32(w[4], 25)
	}
}

// sectorWords reports whether n words are what the unrolled loops take:
// a multiple of four (the rotations repeat every four words) and enough
// that the words written out do not overlap. Sectors have 128 to 1,024.
func sectorWords(n int) bool { return n >= 16 && n%4 == 0 }

// diffuserAny runs a diffuser's decryption word by word over any word
// count: d[i] += d[i+j] ^ rot(d[i+k]), the indices wrapping around. No
// sector needs it; it keeps the functions above total.
func diffuserAny(d []uint32, cycles, j, k int, rot *[4]int) {
	n := len(d)
	for c := 0; c < cycles; c++ {
		for i := range d {
			d[i] += d[((i+j)%n+n)%n] ^ bits.RotateLeft32(d[((i+k)%n+n)%n], rot[i&3])
		}
	}
}

// bBlocks runs diffuser B over the words from 0 in blocks of twenty, as
// far as their inputs do not wrap around, and returns the first word it
// left.
func bBlocks(d []uint32) int {
	if len(d) < 25 {
		return 0
	}
	// Slots 0 and 1 are first read by words 3 and 4, after words 0 and 1
	// have put d[5] and d[6] there.
	var r0, r1 uint32
	r2, r3, r4 := d[2], d[3], d[4]
	i := 0
	for ; i+25 <= len(d); i += 20 {
		s := d[i : i+25 : i+25]
		// Word k reads d[k+2] (slot (k+2) mod 5) and d[k+5], loaded
		// here, which then takes slot k mod 5; the rotations go 0, 10,
		// 0, 25.
		r0 = stepB(&s[0], r2, s[5], 0)
		r1 = stepB(&s[1], r3, s[6], 10)
		r2 = stepB(&s[2], r4, s[7], 0)
		r3 = stepB(&s[3], r0, s[8], 25)
		r4 = stepB(&s[4], r1, s[9], 0)
		r0 = stepB(&s[5], r2, s[10], 10)
		r1 = stepB(&s[6], r3, s[11], 0)
		r2 = stepB(&s[7], r4, s[12], 25)
		r3 = stepB(&s[8], r0, s[13], 0)
		r4 = stepB(&s[9], r1, s[14], 10)
		r0 = stepB(&s[10], r2, s[15], 0)
		r1 = stepB(&s[11], r3, s[16], 25)
		r2 = stepB(&s[12], r4, s[17], 0)
		r3 = stepB(&s[13], r0, s[18], 10)
		r4 = stepB(&s[14], r1, s[19], 0)
		r0 = stepB(&s[15], r2, s[20], 25)
		r1 = stepB(&s[16], r3, s[21], 0)
		r2 = stepB(&s[17], r4, s[22], 10)
		r3 = stepB(&s[18], r0, s[23], 0)
		r4 = stepB(&s[19], r1, s[24], 25)
	}
	return i
}

// stepB is one word of diffuser B: *p += p2 ^ rot(p5), the unchanged
// words two and five after it; it returns p5, the ring's next word.
func stepB(p *uint32, p2, p5 uint32, rot int) uint32 {
	*p += p2 ^ bits.RotateLeft32(p5, rot)
	return p5
}

func diffuserAEncrypt(d []uint32) {
	n := len(d)
	for c := 0; c < aCycles; c++ {
		for i := n - 1; i >= 0; i-- {
			j, k := i-2, i-5
			if j < 0 {
				j += n
			}
			if k < 0 {
				k += n
			}
			d[i] -= d[j] ^ bits.RotateLeft32(d[k], rotA[i&3])
		}
	}
}

func diffuserBEncrypt(d []uint32) {
	n := len(d)
	for c := 0; c < bCycles; c++ {
		for i := n - 1; i >= 0; i-- {
			j, k := i+2, i+5
			if j >= n {
				j -= n
			}
			if k >= n {
				k -= n
			}
			d[i] -= d[j] ^ bits.RotateLeft32(d[k], rotB[i&3])
		}
	}
}
