package vss

import (
	"fmt"
	"io"
	"slices"
	"sort"
)

// Reader reads one shadow copy's volume as it was when the copy was taken.
// It is safe for concurrent use.
type Reader struct {
	store *Store
	live  device      // the volume now
	data  device      // the volume holding the store data (live when internal)
	stack []*storeMap // the store and every newer one, oldest first
	size  int64

	// Blocks whose content may differ from the live volume's: every block
	// any store of the stack lists, sorted.
	touched []int64
	// revKeys are the blocks the newest store's forwarders point to,
	// sorted, when it is the store read.
	revKeys []int64
}

// Open prepares the store's volume for reading. It reads the block lists
// of this store and of every newer one (each copy only holds what changed
// until the next one was taken), once per Volume. A store whose data is on
// another volume not yet given to AttachStorage fails with ErrUnsupported.
func (s *Store) Open() (*Reader, error) {
	v := s.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.storage == nil || s.loc == nil {
		return nil, fmt.Errorf("vss: store %s keeps its data on volume %s: %w", s.ID, v.hdr.StorageID, ErrUnsupported)
	}
	if s.VolumeSize <= 0 || s.VolumeSize > v.live.size {
		return nil, formatErr(0, "store %s claims a volume of 0x%x bytes, the volume has 0x%x", s.ID, s.VolumeSize, v.live.size)
	}
	r := &Reader{store: s, live: v.live, data: *v.storage, size: s.VolumeSize}
	seen := make(map[int64]bool)
	for i := s.Index - 1; i < len(v.stores); i++ {
		t := v.stores[i]
		if t.loc == nil {
			return nil, fmt.Errorf("vss: newer store %s has no data on volume %s: %w", t.ID, v.hdr.StorageID, ErrUnsupported)
		}
		if t.VolumeSize <= 0 || t.VolumeSize > v.live.size {
			// Its size sizes its bitmaps (loadMap).
			return nil, formatErr(0, "newer store %s claims a volume of 0x%x bytes, the volume has 0x%x", t.ID, t.VolumeSize, v.live.size)
		}
		newest := i == len(v.stores)-1
		m := v.loaded[t]
		if m == nil || (newest && m.current == nil && t.loc.Bitmap != 0) {
			var err error
			if m, err = loadMap(t, *v.storage, newest); err != nil {
				return nil, fmt.Errorf("vss: store %d (%s): %w", t.Index, t.ID, err)
			}
			v.loaded[t] = m
		}
		r.stack = append(r.stack, m)
		for k := range m.fwd {
			if !seen[k] {
				seen[k] = true
				r.touched = append(r.touched, k)
			}
		}
	}
	slices.Sort(r.touched)
	if len(r.stack) == 1 {
		for k := range r.stack[0].rev {
			r.revKeys = append(r.revKeys, k)
		}
		slices.Sort(r.revKeys)
	}
	return r, nil
}

// Store is the shadow copy this Reader reads.
func (r *Reader) Store() *Store { return r.store }

// Size is the volume's size when the copy was taken.
func (r *Reader) Size() int64 { return r.size }

// Source says where a range of a shadow copy's volume comes from.
type Source uint8

const (
	// Live: the bytes are the live volume's at the same offset.
	Live Source = iota
	// Copied: the bytes come from a store (or moved data); they may
	// differ from the live volume.
	Copied
	// Zero: a block the copy did not use; it reads as zeros.
	Zero
)

func (s Source) String() string {
	switch s {
	case Live:
		return "live"
	case Copied:
		return "copied"
	case Zero:
		return "zero"
	}
	return fmt.Sprintf("Source(%d)", uint8(s))
}

// span is where n bytes from an offset of the copy are read from.
type span struct {
	src Source
	dev *device // nil for Zero
	off int64
	n   int64
}

// locate finds where the byte at off (< Size) comes from and for how many
// bytes (at most to the end of its block) that answer holds. It walks from
// the reader's store to newer ones: a block the store lists was copied
// before being overwritten; a block it does not list is whatever the next
// newer copy saw, and for the newest, the live volume's - unless that
// store's bitmaps say the block was unused, which reads as zeros.
func (r *Reader) locate(off int64) span {
	pos := off
	n := BlockSize - off%BlockSize
	for k, m := range r.stack {
		rel := pos % BlockSize
		n = min(n, BlockSize-rel)
		d := m.fwd[pos/BlockSize]
		if d != nil {
			use, at := d, d.Offset
			if d.Flags&flagForwarder != 0 {
				at = d.Relative
			}
			ov := d.overlay
			if d.Flags&flagOverlay != 0 {
				ov = d
			}
			if ov != nil {
				if k != 0 {
					// Overlays only count for the store being read;
					// reads passed on from older stores ignore them.
					if d == ov {
						use = nil
					}
				} else {
					held, sec := sectorRun(ov.Bitmap, uint(rel/512))
					n = min(n, int64(sec)*512-rel%512)
					if held {
						use, at = ov, ov.Offset
					} else if d == ov {
						use = nil
					}
				}
			}
			if use != nil {
				at = at/BlockSize*BlockSize + rel
				if use.Flags&flagForwarder != 0 {
					if k+1 < len(r.stack) {
						pos = at
						continue
					}
					return span{Copied, &r.live, at, n}
				}
				return span{Copied, &r.data, at, n}
			}
		}
		if k+1 < len(r.stack) {
			continue
		}
		if k == 0 && m.current != nil {
			b := pos / BlockSize
			if m.rev[b] == nil && bitSet(m.current, b) && (m.previous == nil || bitSet(m.previous, b)) {
				return span{Zero, nil, pos, n}
			}
		}
		src := Live
		if pos != off {
			src = Copied
		}
		return span{src, &r.live, pos, n}
	}
	return span{Live, &r.live, pos, n}
}

// ReadAt reads the copy's volume. Runs of bytes from the same place are
// read in one call to the underlying volume.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("vss: negative offset %d", off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	var eof error
	if int64(len(p)) > r.size-off {
		p, eof = p[:r.size-off], io.EOF
	}
	done := 0
	for done < len(p) {
		s := r.locate(off + int64(done))
		// Extend while the next piece continues the same place.
		for int64(done)+s.n < int64(len(p)) {
			t := r.locate(off + int64(done) + s.n)
			if t.src != s.src || t.dev != s.dev || (s.dev != nil && t.off != s.off+s.n) {
				break
			}
			s.n += t.n
		}
		chunk := p[done:min(len(p), done+int(s.n))]
		if s.dev == nil {
			clear(chunk)
		} else if _, err := s.dev.r.ReadAt(chunk, s.off); err != nil {
			return done, fmt.Errorf("vss: store %d at 0x%x: reading 0x%x: %w", r.store.Index, off+int64(done), s.off, err)
		}
		done += len(chunk)
	}
	return done, eof
}

// Extent is a range of the copy's volume and where its bytes come from.
type Extent struct {
	Off, Len int64
	Source   Source
}

// Extents describes [off, off+n) of the copy's volume as sorted,
// adjacent extents, merged where the source agrees. Its cost follows the
// number of blocks the stores list in the range (and, for the newest
// store, the blocks its bitmap marks unused), not the range's size, so a
// diff against the live volume reads only what the copies hold.
func (r *Reader) Extents(off, n int64) []Extent {
	end := min(off+n, r.size)
	var out []Extent
	add := func(o, l int64, s Source) {
		if l <= 0 {
			return
		}
		if k := len(out) - 1; k >= 0 && out[k].Source == s && out[k].Off+out[k].Len == o {
			out[k].Len += l
			return
		}
		out = append(out, Extent{o, l, s})
	}
	pos := max(off, 0)
	i := sort.Search(len(r.touched), func(i int) bool { return (r.touched[i]+1)*BlockSize > pos })
	last := (end + BlockSize - 1) / BlockSize
	zero := r.nextZero(pos/BlockSize, last)
	for pos < end {
		next := end
		if i < len(r.touched) {
			next = min(next, max(pos, r.touched[i]*BlockSize))
		}
		next = min(next, max(pos, zero*BlockSize))
		if next > pos {
			add(pos, next-pos, Live)
			pos = next
			continue
		}
		// A run of unused blocks no store lists reads as zeros whole.
		if b := pos / BlockSize; b == zero && (i >= len(r.touched) || r.touched[i] != b) {
			stop := last
			if i < len(r.touched) {
				stop = r.touched[i]
			}
			if e := r.zeroRun(b, stop); e > b {
				add(pos, min(e*BlockSize, end)-pos, Zero)
				pos = min(e*BlockSize, end)
				zero = r.nextZero(e, last)
				continue
			}
		}
		// pos is in a listed or unused block: look at it closely.
		bend := min(end, (pos/BlockSize+1)*BlockSize)
		for pos < bend {
			s := r.locate(pos)
			l := min(s.n, bend-pos)
			add(pos, l, s.src)
			pos += l
		}
		for i < len(r.touched) && r.touched[i]*BlockSize < pos {
			i++
		}
		if zero*BlockSize < pos {
			zero = r.nextZero((pos+BlockSize-1)/BlockSize, last)
		}
	}
	return out
}

// zeroRun returns the end of the run of blocks from b (before stop) that
// read as zeros for a newest store no entry lists: marked in the current
// bitmap, in the previous one if any, and no forwarder's target. Whole
// bytes of set bits are taken eight blocks at a time.
func (r *Reader) zeroRun(b, stop int64) int64 {
	m := r.stack[0]
	cur, prev := m.current, m.previous
	e := b
	for e < stop && bitSet(cur, e) && (prev == nil || bitSet(prev, e)) && m.rev[e] == nil {
		e++
		for e%8 == 0 && e+8 <= stop && e/8 < int64(len(cur)) && cur[e/8] == 0xff &&
			(prev == nil || e/8 < int64(len(prev)) && prev[e/8] == 0xff) && !r.revIn(e, e+8) {
			e += 8
		}
	}
	return e
}

// revIn reports whether a forwarder of the newest store points into
// blocks [b, e).
func (r *Reader) revIn(b, e int64) bool {
	i := sort.Search(len(r.revKeys), func(i int) bool { return r.revKeys[i] >= b })
	return i < len(r.revKeys) && r.revKeys[i] < e
}

// nextZero gives the first block at or after b, and before last, that
// the newest store's bitmap marks unused, when that store is the one being
// read (only then can blocks read as zeros); last when there is none.
func (r *Reader) nextZero(b, last int64) int64 {
	if len(r.stack) != 1 || r.stack[0].current == nil {
		return last
	}
	bm := r.stack[0].current
	for ; b < last && b/8 < int64(len(bm)); b++ {
		if bm[b/8] == 0 {
			b |= 7 // skip the rest of an empty byte
			continue
		}
		if bitSet(bm, b) {
			return b
		}
	}
	return last
}
