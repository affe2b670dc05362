package xfs

// overlay holds metadata as the log replay left it, by 512-byte sector.
// Reads of metadata see it in place of the volume's bytes; file data is
// never logged, so file reads skip it.
type overlay struct {
	secs   map[int64][]byte
	lo, hi int64 // sector range holding anything
	bytes  int
}

func newOverlay() *overlay { return &overlay{secs: map[int64][]byte{}, lo: 1<<62 - 1, hi: -1} }

// put stores b, which starts at a sector boundary off.
func (o *overlay) put(off int64, b []byte) {
	for i := 0; i < len(b); i += bbSize {
		s := off/bbSize + int64(i/bbSize)
		if _, ok := o.secs[s]; !ok {
			o.bytes += bbSize
		}
		o.secs[s] = append([]byte(nil), b[i:min(i+bbSize, len(b))]...)
		o.lo, o.hi = min(o.lo, s), max(o.hi, s)
	}
}

// apply copies replayed sectors over p, read from off.
func (o *overlay) apply(p []byte, off int64) {
	if len(p) == 0 || off/bbSize > o.hi || (off+int64(len(p))-1)/bbSize < o.lo {
		return
	}
	for s := max(off/bbSize, o.lo); s <= min((off+int64(len(p))-1)/bbSize, o.hi); s++ {
		if b, ok := o.secs[s]; ok {
			so := s * bbSize
			src, dst := b, p
			if so < off {
				src = b[off-so:]
			} else {
				dst = p[so-off:]
			}
			copy(dst, src)
		}
	}
}

// covers reports whether any of n bytes at off were replayed.
func (o *overlay) covers(off int64, n int) bool {
	if o == nil || n <= 0 || off/bbSize > o.hi || (off+int64(n)-1)/bbSize < o.lo {
		return false
	}
	for s := max(off/bbSize, o.lo); s <= min((off+int64(n)-1)/bbSize, o.hi); s++ {
		if _, ok := o.secs[s]; ok {
			return true
		}
	}
	return false
}

// checkCRC verifies a v5 metadata CRC unless the log replay rewrote part
// of the block: the kernel computes that CRC only when it writes the
// block back, so the logged copy carries a stale one.
func (v *FS) checkCRC(b []byte, crcOff int, off int64) error {
	if v.overlay.covers(off, len(b)) {
		return nil
	}
	return checkCRC(b, crcOff, off)
}
