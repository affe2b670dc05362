package bitlocker

import "math/bits"

// The Elephant diffuser (Niels Ferguson, "AES-CBC + Elephant diffuser",
// Microsoft 2006) mixes a sector's 32-bit words so that a change to one
// plaintext bit changes the whole sector. Both diffusers are defined in
// their decryption direction, which runs the index forwards; encryption
// undoes each step backwards. Indices wrap around the sector. The
// decryption loops take the wrapping words apart and unroll the rest by
// four, so the rotations are constants: reads of a Windows 7 volume spend
// most of their time here.

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
		for i := 0; i < 8; i++ {
			d[i] += d[(i-2+n)%n] ^ bits.RotateLeft32(d[(i-5+n)%n], rotA[i%4])
		}
		for i := 8; i+4 <= n; i += 4 {
			d[i] += d[i-2] ^ bits.RotateLeft32(d[i-5], 9)
			d[i+1] += d[i-1] ^ d[i-4]
			d[i+2] += d[i] ^ bits.RotateLeft32(d[i-3], 13)
			d[i+3] += d[i+1] ^ d[i-2]
		}
	}
}

func diffuserBDecrypt(d []uint32) {
	n := len(d)
	for c := 0; c < bCycles; c++ {
		i := 0
		for ; i+8 < n; i += 4 {
			d[i] += d[i+2] ^ d[i+5]
			d[i+1] += d[i+3] ^ bits.RotateLeft32(d[i+6], 10)
			d[i+2] += d[i+4] ^ d[i+7]
			d[i+3] += d[i+5] ^ bits.RotateLeft32(d[i+8], 25)
		}
		for ; i < n; i++ {
			d[i] += d[(i+2)%n] ^ bits.RotateLeft32(d[(i+5)%n], rotB[i%4])
		}
	}
}

func diffuserAEncrypt(d []uint32) {
	n := len(d)
	for c := 0; c < aCycles; c++ {
		for i := n - 1; i >= 0; i-- {
			d[i] -= d[(i-2+n)%n] ^ bits.RotateLeft32(d[(i-5+n)%n], rotA[i%4])
		}
	}
}

func diffuserBEncrypt(d []uint32) {
	n := len(d)
	for c := 0; c < bCycles; c++ {
		for i := n - 1; i >= 0; i-- {
			d[i] -= d[(i+2)%n] ^ bits.RotateLeft32(d[(i+5)%n], rotB[i%4])
		}
	}
}
