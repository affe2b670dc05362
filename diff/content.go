package diff

import (
	"bytes"
	"fmt"
	"io"

	"github.com/ckptfs/ckptfs/guest"
)

// streamDiffers reports whether data stream name of file num has other
// bytes in b than in a. Where the filesystem maps both states' bytes one
// to one onto the volume, only the parts that lie in changed clusters, or
// that moved, are read; otherwise (resident, compressed, encrypted, or
// partly initialized in either state) the whole stream is compared.
func (c *recordCompare) streamDiffers(num uint64, name string) (bool, error) {
	fa, err := c.a.fs.OpenRecordStream(num, name)
	if err != nil {
		return false, fmt.Errorf("stream %q in %s: %w", name, "the older state", err)
	}
	fb, err := c.b.fs.OpenRecordStream(num, name)
	if err != nil {
		return false, fmt.Errorf("stream %q in %s: %w", name, "the newer state", err)
	}
	if fa.Size() != fb.Size() {
		return true, nil
	}
	ea, exactA, errA := fa.Extents()
	eb, exactB, errB := fb.Extents()
	if errA != nil || errB != nil || !exactA || !exactB {
		return sameReadersNot(io.NewSectionReader(fa, 0, fa.Size()), io.NewSectionReader(fb, 0, fb.Size()))
	}
	return compareSpans(fa, fb, suspectSpans(c.changed, ea, eb))
}

// suspectSpans returns the file byte ranges that can differ: those mapped
// to changed clusters (volume spans) in either state, and those mapped
// differently.
func suspectSpans(changed []span, ea, eb []guest.Extent) []span {
	var out []span
	for _, exts := range [][]guest.Extent{ea, eb} {
		for _, e := range exts {
			if e.Hole() {
				continue
			}
			for _, s := range clip(changed, e.VolOff, e.VolOff+e.Len) {
				out = append(out, span{e.FileOff + s.off, e.FileOff + s.end})
			}
		}
	}
	out = append(out, remapped(ea, eb)...)
	return normalize(out)
}

// remapped returns the file byte ranges that the two extent lists map
// differently.
func remapped(ea, eb []guest.Extent) []span {
	var out []span
	i, j := 0, 0
	for i < len(ea) && j < len(eb) {
		x, y := ea[i], eb[j]
		from := max(x.FileOff, y.FileOff)
		to := min(x.FileOff+x.Len, y.FileOff+y.Len)
		if from < to {
			vx, vy := x.VolOff+(from-x.FileOff), y.VolOff+(from-y.FileOff)
			if x.Hole() != y.Hole() || (!x.Hole() && vx != vy) {
				out = append(out, span{from, to})
			}
		}
		if x.FileOff+x.Len <= y.FileOff+y.Len {
			i++
		} else {
			j++
		}
	}
	// What only one list maps differs from the other's nothing.
	endA, endB := extentsEnd(ea), extentsEnd(eb)
	for _, e := range ea[i:] {
		if from := max(e.FileOff, endB); from < e.FileOff+e.Len {
			out = append(out, span{from, e.FileOff + e.Len})
		}
	}
	for _, e := range eb[j:] {
		if from := max(e.FileOff, endA); from < e.FileOff+e.Len {
			out = append(out, span{from, e.FileOff + e.Len})
		}
	}
	return out
}

func extentsEnd(es []guest.Extent) int64 {
	if len(es) == 0 {
		return 0
	}
	return es[len(es)-1].FileOff + es[len(es)-1].Len
}

// compareSpans reads two streams of equal size over the spans and reports
// whether any byte differs.
func compareSpans(fa, fb guest.StreamFile, spans []span) (bool, error) {
	if len(spans) == 0 {
		return false, nil
	}
	bufA := make([]byte, 1<<20)
	bufB := make([]byte, 1<<20)
	for _, s := range clip(spans, 0, fa.Size()) {
		for off := s.off; off < s.end; {
			n := min(s.end-off, int64(len(bufA)))
			if err := readFull(fa, bufA[:n], off); err != nil {
				return false, err
			}
			if err := readFull(fb, bufB[:n], off); err != nil {
				return false, err
			}
			if !bytes.Equal(bufA[:n], bufB[:n]) {
				return true, nil
			}
			off += n
		}
	}
	return false, nil
}

func sameReadersNot(a, b io.Reader) (bool, error) {
	same, err := sameReaders(a, b)
	return !same, err
}

func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
