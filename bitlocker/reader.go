package bitlocker

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
)

// Reader is an unlocked volume: ReadAt returns the decrypted bytes, laid
// out as cryptsetup's bitlkOpen maps them. It holds the full-volume key in
// its cipher state only; nothing of it is reachable through the API.
type Reader struct {
	// Protector is the one that opened the volume.
	Protector Protector

	v       *Volume
	c       sectorCipher
	ss      int64
	encSize int64 // physical sectors at or past this offset are plaintext
	segs    []segment
	view    Viewer    // the volume's reader, when it shows views (views.go)
	bufs    sync.Pool // *[]byte of one sector, for unaligned heads and tails
}

// segment is a run of the decrypted view: zeros, or data read at
// start+delta on disk and decrypted there.
type segment struct {
	start, end int64
	zero       bool
	delta      int64
}

func newReader(v *Volume, c sectorCipher, p Protector) (*Reader, error) {
	r := &Reader{Protector: p, v: v, c: c, ss: int64(v.SectorSize), encSize: v.EncryptedSize}
	if err := r.layout(); err != nil {
		return nil, err
	}
	r.bufs.New = func() any { b := make([]byte, r.ss); return &b }
	r.view, _ = v.r.(Viewer)
	return r, nil
}

// layout builds the segment list: the metadata copies (and on Windows 7+
// the place the first sectors were moved to) read as zeros, the first
// sectors read from where they were moved, everything else in place.
func (r *Reader) layout() error {
	v := r.v
	type region struct {
		start, end int64
		zero       bool
		delta      int64
	}
	var regs []region
	for _, off := range v.MetadataOffsets {
		regs = append(regs, region{off, off + v.area, true, 0})
	}
	if v.Version == 2 {
		regs = append(regs, region{v.HeaderOffset, v.HeaderOffset + v.HeaderSize, true, 0})
		if v.State == StateSwitching && v.md.convertSize > 0 {
			// dislocker hides the conversion's scratch area past the
			// encrypted part while a conversion runs.
			regs = append(regs, region{v.EncryptedSize, v.EncryptedSize + v.md.convertSize, true, 0})
		}
	}
	cuts := []int64{0, v.size}
	for _, g := range regs {
		if g.start%r.ss != 0 || g.end%r.ss != 0 {
			return formatErr(g.start, "metadata area %d+%d is not sector-aligned", g.start, g.end-g.start)
		}
		cuts = append(cuts, clamp(g.start, v.size), clamp(g.end, v.size))
	}
	if v.Version == 2 {
		cuts = append(cuts, clamp(v.HeaderSize, v.size))
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i] < cuts[j] })
	for i := 0; i+1 < len(cuts); i++ {
		a, b := cuts[i], cuts[i+1]
		if a == b {
			continue
		}
		s := segment{start: a, end: b}
		for _, g := range regs {
			if a >= g.start && a < g.end {
				s.zero = true
			}
		}
		if !s.zero && v.Version == 2 && a < v.HeaderSize {
			s.delta = v.HeaderOffset
		}
		if n := len(r.segs); n > 0 && r.segs[n-1].zero == s.zero && r.segs[n-1].delta == s.delta && r.segs[n-1].end == a {
			r.segs[n-1].end = b
			continue
		}
		r.segs = append(r.segs, s)
	}
	return nil
}

func clamp(x, size int64) int64 {
	if x > size {
		return size
	}
	if x < 0 {
		return 0
	}
	return x
}

// Size returns the size of the decrypted volume: the same as the
// encrypted one.
func (r *Reader) Size() int64 { return r.v.size }

// Volume returns the metadata the Reader was unlocked from.
func (r *Reader) Volume() *Volume { return r.v }

// ReadAt reads decrypted bytes. It is safe for concurrent use. A read of
// 256 KiB or more is decrypted in pieces on as many cores as are free
// (see parallel.go).
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("bitlocker: negative offset %d", off)
	}
	if off >= r.v.size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > r.v.size-off {
		p = p[:r.v.size-off]
	}
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		i := sort.Search(len(r.segs), func(i int) bool { return r.segs[i].end > pos })
		s := r.segs[i]
		n := len(p) - done
		if int64(n) > s.end-pos {
			n = int(s.end - pos)
		}
		if s.zero {
			clear(p[done : done+n])
		} else if err := r.readData(p[done:done+n], pos, s.delta); err != nil {
			return done, err
		}
		done += n
	}
	if done < want {
		return done, io.EOF
	}
	return done, nil
}

// readData reads and decrypts p from logical offset pos, which lies at
// pos+delta on disk. Whole sectors go straight into p; a partial sector
// at either end goes through a pooled one-sector buffer.
func (r *Reader) readData(p []byte, pos, delta int64) error {
	for len(p) > 0 {
		in := pos % r.ss
		if in != 0 || int64(len(p)) < r.ss {
			bp := r.bufs.Get().(*[]byte)
			buf := *bp
			err := r.readSectors(buf, pos-in+delta)
			n := copy(p, buf[in:])
			r.bufs.Put(bp)
			if err != nil {
				return err
			}
			p, pos = p[n:], pos+int64(n)
			continue
		}
		n := int64(len(p)) / r.ss * r.ss
		if err := r.readSectors(p[:n], pos+delta); err != nil {
			return err
		}
		p, pos = p[n:], pos+n
	}
	return nil
}

// readSectors reads whole sectors at disk offset phys and decrypts those
// BitLocker has encrypted. The read below is one call, as the caller's
// was, so the layer below sees the reads it would see without BitLocker
// (a VHDX chain's read-ahead follows their order); a large one is then
// decrypted on several cores (parallel.go).
func (r *Reader) readSectors(buf []byte, phys int64) error {
	if r.view != nil && len(buf) >= minViewRead && r.readViews(buf, phys) {
		return nil
	}
	if n, err := r.v.r.ReadAt(buf, phys); err != nil && n < len(buf) {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("bitlocker: reading %d bytes at byte 0x%x: %w", len(buf), phys, err)
	}
	if len(buf) >= 2*pieceBytes {
		r.parallel(buf, phys)
	} else {
		r.decryptSectors(buf, buf, phys)
	}
	return nil
}

// decryptSectors writes to dst the sectors of src (read from disk offset
// phys; dst is src or does not overlap it), decrypting those BitLocker
// encrypted: all of them but those at or past the encrypted size (a
// conversion under way or paused) and, on Vista, the first sixteen and
// the NTFS backup boot sector. src is only read: it may be a view of
// read-only memory (views.go).
func (r *Reader) decryptSectors(dst, src []byte, phys int64) {
	n := int64(len(src))
	if phys+n > r.encSize {
		// the sectors that start before the encrypted size
		n = max(0, (r.encSize-phys+r.ss-1)/r.ss*r.ss)
		copyPlain(dst[n:], src[n:])
		dst, src = dst[:n], src[:n]
	}
	if r.v.Version != 1 {
		r.c.decrypt(dst, src, phys)
		return
	}
	start := int64(0) // of the run of encrypted sectors being gathered
	for i := int64(0); i < n; i += r.ss {
		if r.vistaPlain(phys + i) {
			if i > start {
				r.c.decrypt(dst[start:i], src[start:i], phys+start)
			}
			copyPlain(dst[i:i+r.ss], src[i:i+r.ss])
			r.vistaRestore(dst[i:i+r.ss], phys+i)
			start = i + r.ss
		}
	}
	if n > start {
		r.c.decrypt(dst[start:n], src[start:n], phys+start)
	}
}

// copyPlain copies sectors left in the clear, unless they are in place.
func copyPlain(dst, src []byte) {
	if len(src) > 0 && &dst[0] != &src[0] {
		copy(dst, src)
	}
}

// Format prints what the Reader is, never its key schedule (fmt would
// otherwise walk into the cipher's unexported fields).
func (r *Reader) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "bitlocker.Reader(%s, %v, opened by %s %s)", r.v.GUID, r.v.Method, r.Protector.Type, r.Protector.ID)
}

// String describes the Reader without key material.
func (r *Reader) String() string { return fmt.Sprint(r) }
