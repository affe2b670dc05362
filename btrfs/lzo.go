package btrfs

import "errors"

var errLZO = errors.New("damaged LZO1X data")

// lzo1xDecompress decodes one LZO1X block (the format of lzo1x_1_compress,
// which btrfs uses) into dst, which bounds the output, and returns the
// bytes written. Every read of src and every write or back-reference in
// dst is checked, so damaged input yields errLZO, never a panic.
func lzo1xDecompress(dst, src []byte) (int, error) {
	ip, op := 0, 0
	state := 0
	var t, next int

	byteAt := func() (int, bool) {
		if ip >= len(src) {
			return 0, false
		}
		ip++
		return int(src[ip-1]), true
	}
	// longLen reads the zero-run length extension of a count field.
	longLen := func(base int) (int, bool) {
		z := 0
		for ip < len(src) && src[ip] == 0 {
			ip++
			z++
			if z > len(dst)/255+1 {
				return 0, false
			}
		}
		b, ok := byteAt()
		if !ok {
			return 0, false
		}
		return base + z*255 + b, true
	}
	literals := func(n int) bool {
		if n < 0 || ip+n > len(src) || op+n > len(dst) {
			return false
		}
		copy(dst[op:], src[ip:ip+n])
		ip += n
		op += n
		return true
	}
	match := func(dist, n int) bool {
		from := op - dist
		if from < 0 || n < 0 || op+n > len(dst) {
			return false
		}
		for i := range n {
			dst[op+i] = dst[from+i]
		}
		op += n
		return true
	}
	le16 := func() (int, bool) {
		if ip+2 > len(src) {
			return 0, false
		}
		v := int(src[ip]) | int(src[ip+1])<<8
		ip += 2
		return v, true
	}

	if len(src) == 0 {
		return 0, errLZO
	}
	if src[0] > 17 {
		t = int(src[0]) - 17
		ip = 1
		if !literals(t) {
			return op, errLZO
		}
		if t < 4 {
			state = t
		} else {
			state = 4
		}
	}
	for {
		c, ok := byteAt()
		if !ok {
			return op, errLZO
		}
		var dist, n int
		switch {
		case c < 16:
			switch state {
			case 0: // a literal run
				t = c
				if t == 0 {
					if t, ok = longLen(15); !ok {
						return op, errLZO
					}
				}
				if !literals(t + 3) {
					return op, errLZO
				}
				state = 4
				continue
			case 4: // a 3-byte match far back, right after a literal run
				b, ok := byteAt()
				if !ok {
					return op, errLZO
				}
				next = c & 3
				dist = 1 + 0x800 + c>>2 + b<<2
				n = 3
			default: // a 2-byte match just after a short literal copy
				b, ok := byteAt()
				if !ok {
					return op, errLZO
				}
				next = c & 3
				dist = 1 + c>>2 + b<<2
				n = 2
			}
		case c >= 64:
			b, ok := byteAt()
			if !ok {
				return op, errLZO
			}
			next = c & 3
			dist = 1 + (c>>2)&7 + b<<3
			n = c>>5 + 1
		case c >= 32:
			n = c&31 + 2
			if n == 2 {
				if n, ok = longLen(33); !ok {
					return op, errLZO
				}
			}
			v, ok := le16()
			if !ok {
				return op, errLZO
			}
			dist = 1 + v>>2
			next = v & 3
		default: // 16..31
			n = c&7 + 2
			if n == 2 {
				if n, ok = longLen(9); !ok {
					return op, errLZO
				}
			}
			v, ok := le16()
			if !ok {
				return op, errLZO
			}
			dist = (c&8)<<11 + v>>2
			next = v & 3
			if dist == 0 {
				// The end marker: a complete stream ends exactly here.
				if n != 3 || ip != len(src) {
					return op, errLZO
				}
				return op, nil
			}
			dist += 0x4000
		}
		if !match(dist, n) || !literals(next) {
			return op, errLZO
		}
		state = next
	}
}
