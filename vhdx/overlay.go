package vhdx

import (
	"io"
	"sort"
)

// overlay is a file as seen after the log's writes, kept in memory: the
// source file is never written. Segments are sorted and do not overlap; a
// segment with nil data reads as zeros (a log zero descriptor).
type overlay struct {
	base     io.ReaderAt
	baseSize int64
	size     int64 // the file's size after replay (the log may extend it)
	segs     []segment
}

type segment struct {
	off, len int64
	data     []byte // nil means zeros
}

func (s segment) end() int64 { return s.off + s.len }

// apply records a write, cutting whatever it overlaps.
func (o *overlay) apply(n segment) {
	var out []segment
	i := sort.Search(len(o.segs), func(i int) bool { return o.segs[i].end() > n.off })
	out = append(out, o.segs[:i]...)
	for ; i < len(o.segs) && o.segs[i].off < n.end(); i++ {
		s := o.segs[i]
		if s.off < n.off {
			out = append(out, s.slice(s.off, n.off))
		}
		if s.end() > n.end() {
			out = append(out, s.slice(n.end(), s.end()))
		}
	}
	out = append(out, n)
	out = append(out, o.segs[i:]...)
	sort.Slice(out, func(a, b int) bool { return out[a].off < out[b].off })
	o.segs = out
	o.size = max(o.size, n.end())
}

func (s segment) slice(from, to int64) segment {
	r := segment{off: from, len: to - from}
	if s.data != nil {
		r.data = s.data[from-s.off : to-s.off]
	}
	return r
}

// ReadAt reads the file with the log's writes on top.
func (o *overlay) ReadAt(p []byte, off int64) (int, error) {
	if off >= o.size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > o.size-off {
		p = p[:o.size-off]
	}
	i := sort.Search(len(o.segs), func(i int) bool { return o.segs[i].end() > off })
	pos := int64(0)
	for pos < int64(len(p)) {
		cur := off + pos
		if i < len(o.segs) && o.segs[i].off <= cur {
			s := o.segs[i]
			n := min(s.end()-cur, int64(len(p))-pos)
			if s.data == nil {
				clear(p[pos : pos+n])
			} else {
				copy(p[pos:pos+n], s.data[cur-s.off:])
			}
			pos += n
			i++
			continue
		}
		n := int64(len(p)) - pos
		if i < len(o.segs) {
			n = min(n, o.segs[i].off-cur)
		}
		if err := o.readBase(p[pos:pos+n], cur); err != nil {
			return int(pos), err
		}
		pos += n
	}
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}

// readBase reads the original file; bytes past its end (the log extended
// the file) read as zeros, as they would after the extension.
func (o *overlay) readBase(p []byte, off int64) error {
	inBase := max(0, min(int64(len(p)), o.baseSize-off))
	if inBase > 0 {
		n, err := o.base.ReadAt(p[:inBase], off)
		if int64(n) < inBase {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	clear(p[inBase:])
	return nil
}
