package bitlocker

import "math/bits"

// The Elephant diffuser (Niels Ferguson, "AES-CBC + Elephant diffuser",
// Microsoft 2006) mixes a sector's 32-bit words so that a change to one
// plaintext bit changes the whole sector. Both diffusers are defined in
// their decryption direction, which runs the index forwards; encryption
// undoes each step backwards. Indices wrap around the sector. The
// decryption loops take the wrapping words apart and unroll the rest by
// four, so the rotations are constants: reads of a Windows 7 volume spend
// most of their time here. Each word of A depends on the one two before
// it (an XOR and an add), so a cycle of A costs at least a clock per word
// on one core; A is within a third of that. Tried and no faster: the
// diffusers over the sector's bytes in place (no copy into words and
// back: slower, the compiler spills), reading the bytes in B's first
// cycle and writing them in A's last (3%), and interleaving the AES calls
// of one sector with the diffusers of the one before, so the integer units
// work while AES waits (5-8%: the calls, not AES's latency, bound the
// AES part).

const (
	aCycles = 5
	bCycles = 3
)

var (
	rotA = [4]int{9, 0, 13, 0}
	rotB = [4]int{0, 10, 0, 25}
)

func diffuserADecrypt(d []uint32) {
	n := len(d)
	for c := 0; c < aCycles; c++ {
		for i := 0; i < 8; i++ { // the words whose inputs wrap around
			j, k := i-2, i-5
			if j < 0 {
				j += n
			}
			if k < 0 {
				k += n
			}
			d[i] += d[j] ^ bits.RotateLeft32(d[k], rotA[i&3])
		}
		// p5..p1 carry d[i-5]..d[i-1], just computed, in registers.
		p5, p4, p3, p2, p1 := d[3], d[4], d[5], d[6], d[7]
		for i := 8; i+4 <= n; i += 4 {
			s := d[i : i+4 : i+4]
			x0 := s[0] + (p2 ^ bits.RotateLeft32(p5, 9))
			x1 := s[1] + (p1 ^ p4)
			x2 := s[2] + (x0 ^ bits.RotateLeft32(p3, 13))
			x3 := s[3] + (x1 ^ p2)
			s[0], s[1], s[2], s[3] = x0, x1, x2, x3
			p5, p4, p3, p2, p1 = p1, x0, x1, x2, x3
		}
	}
}

func diffuserBDecrypt(d []uint32) {
	n := len(d)
	for c := 0; c < bCycles; c++ {
		i := 0
		// Every word read here is one this pass has not changed yet.
		for ; i+8 < n; i += 4 {
			s := d[i : i+9 : i+9]
			s[0] += s[2] ^ s[5]
			s[1] += s[3] ^ bits.RotateLeft32(s[6], 10)
			s[2] += s[4] ^ s[7]
			s[3] += s[5] ^ bits.RotateLeft32(s[8], 25)
		}
		for ; i < n; i++ { // the words whose inputs wrap around
			j, k := i+2, i+5
			if j >= n {
				j -= n
			}
			if k >= n {
				k -= n
			}
			d[i] += d[j] ^ bits.RotateLeft32(d[k], rotB[i&3])
		}
	}
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
