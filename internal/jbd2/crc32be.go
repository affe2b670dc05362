package jbd2

// crc32BE is the kernel's crc32_be: the CRC-32 polynomial fed most
// significant bit first, with no inversions. JBD2's old (v1) commit
// checksums use it; Go's hash/crc32 only has the reflected form.
func crc32BE(crc uint32, p []byte) uint32 {
	for _, b := range p {
		crc = crc<<8 ^ crc32BETable[byte(crc>>24)^b]
	}
	return crc
}

var crc32BETable = func() (t [256]uint32) {
	const poly = 0x04C11DB7
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ poly
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()
