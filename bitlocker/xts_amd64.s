//go:build amd64 && !purego

#include "textflag.h"

// func xorTweaksAVX2(dst, src *byte, n int, t *[8]uint64, save *byte, tables *[64]byte)
//
// dst[i] = src[i] ^ T_i for the n/16 blocks of one sector (n a multiple
// of 64), and save[i] = T_i; t holds T_0..T_3 as (lo, hi) pairs. Two
// chains of tweaks run side by side, Y0 = (T_4k, T_4k+1) and Y1 =
// (T_4k+2, T_4k+3), each multiplied by x^4 per round of four blocks: per
// 128-bit lane, lo' = lo<<4 ^ clmul(hi>>60, 0x87) and hi' = hi<<4 ^
// lo>>60. The carry-less product of the four bits shifted out is looked
// up (VPSHUFB) in tables: its low byte in the first 32 bytes, its high
// byte in the last 32 (each 16-entry table twice, one per lane). The
// tweaks are loaded as 8-byte words, as they were stored: a 32-byte load
// of them would wait for the stores to reach the cache.
TEXT ·xorTweaksAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ t+24(FP), AX
	MOVQ save+32(FP), DX
	MOVQ tables+40(FP), BX
	VMOVQ 0(AX), X0
	VPINSRQ $1, 8(AX), X0, X0
	VMOVQ 16(AX), X2
	VPINSRQ $1, 24(AX), X2, X2
	VINSERTI128 $1, X2, Y0, Y0
	VMOVQ 32(AX), X1
	VPINSRQ $1, 40(AX), X1, X1
	VMOVQ 48(AX), X3
	VPINSRQ $1, 56(AX), X3, X3
	VINSERTI128 $1, X3, Y1, Y1
	VMOVDQU 0(BX), Y14
	VMOVDQU 32(BX), Y15
	SHRQ $6, CX
	JZ done

loop:
	VPXOR 0(SI), Y0, Y2
	VPXOR 32(SI), Y1, Y3
	VMOVDQU Y2, 0(DI)
	VMOVDQU Y3, 32(DI)
	VMOVDQU Y0, 0(DX)
	VMOVDQU Y1, 32(DX)

	// Y0 *= x^4
	VPSRLQ $60, Y0, Y4
	VPSLLDQ $8, Y4, Y5
	VPSRLDQ $8, Y4, Y4
	VPSHUFB Y4, Y14, Y6
	VPSLLQ $8, Y4, Y4
	VPSHUFB Y4, Y15, Y7
	VPSLLQ $4, Y0, Y0
	VPXOR Y5, Y0, Y0
	VPXOR Y6, Y0, Y0
	VPXOR Y7, Y0, Y0

	// Y1 *= x^4
	VPSRLQ $60, Y1, Y8
	VPSLLDQ $8, Y8, Y9
	VPSRLDQ $8, Y8, Y8
	VPSHUFB Y8, Y14, Y10
	VPSLLQ $8, Y8, Y8
	VPSHUFB Y8, Y15, Y11
	VPSLLQ $4, Y1, Y1
	VPXOR Y9, Y1, Y1
	VPXOR Y10, Y1, Y1
	VPXOR Y11, Y1, Y1

	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, DX
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET
