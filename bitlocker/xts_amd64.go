//go:build amd64 && !purego

package bitlocker

import "golang.org/x/sys/cpu"

// The tweak passes of XTS with AVX2 (xts_amd64.s): a 512-byte sector's two
// passes took about 80 of its 340 ns in Go, bound by their instruction
// count (two 8-byte loads, XORs and stores and a multiplication by α per
// block). With 32-byte vectors and the tweaks multiplied by x^4 in two
// chains of two, the first pass computes the tweaks and keeps them, and
// the second is crypto/subtle's XOR of the sector with them.

var hasXTSAVX2 = cpu.X86.HasAVX2

// x4Tables holds clmul(c, 0x87) for c = 0..15, the reduction of the four
// bits a multiplication by x^4 shifts out: low bytes (twice, one copy per
// 128-bit lane), then high bytes.
var x4Tables = func() (t [64]byte) {
	for c := 0; c < 16; c++ {
		var p uint16
		for b := 0; b < 4; b++ {
			if c>>b&1 != 0 {
				p ^= 0x87 << b
			}
		}
		t[c], t[16+c] = byte(p), byte(p)
		t[32+c], t[48+c] = byte(p>>8), byte(p>>8)
	}
	return t
}()

//go:noescape
func xorTweaksAVX2(dst, src *byte, n int, t *[8]uint64, save *byte, tables *[64]byte)

// xorTweaksFast sets dst = src ^ T_i for the blocks of one sector, T_0
// being (lo, hi), and keeps the tweaks in st.tweaks for the second pass
// (xorSaved), with AVX2 where the CPU has it and the sector is whole
// rounds of four blocks; else it returns false.
func xorTweaksFast(dst, src []byte, lo, hi uint64, st *xtsState) bool {
	n := len(src)
	if !hasXTSAVX2 || n < 64 || n%64 != 0 || len(dst) < n || len(st.tweaks) < n {
		return false
	}
	for i := 0; i < 8; i += 2 {
		st.t4[i], st.t4[i+1] = lo, hi
		lo, hi = mul2(lo, hi)
	}
	xorTweaksAVX2(&dst[0], &src[0], n, &st.t4, &st.tweaks[0], &x4Tables)
	return true
}
