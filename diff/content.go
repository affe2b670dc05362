package diff

import (
	"bytes"
	"fmt"
	"io"
)

// streamDiffers reports whether data stream name of file num has other
// bytes in b than in a. Where both states' records hold the stream's whole
// runlist, only the parts that lie in changed clusters, or that moved, are
// read; otherwise (compressed, encrypted, attribute lists, resident in one
// state only) the whole stream is compared.
func (c *ntfsCompare) streamDiffers(num int64, name string, ra, rb *rawRecord) (bool, error) {
	sa, sb := ra.streams[name], rb.streams[name]
	if sa != nil && sb != nil && !ra.hasList && !rb.hasList && sa.whole && sb.whole {
		switch {
		case sa.resident && sb.resident:
			return !bytes.Equal(sa.value, sb.value), nil
		case !sa.resident && !sb.resident:
			spans := c.suspectSpans(sa.runs, sb.runs)
			return c.compareSpans(num, name, spans)
		}
	}
	return c.compareSpans(num, name, nil)
}

// suspectSpans returns the file byte ranges that can differ: those mapped
// to changed clusters in either state, and those mapped differently.
func (c *ntfsCompare) suspectSpans(ra, rb []clusterRun) []span {
	cs := c.a.mft.cs
	var out []span
	for _, runs := range [][]clusterRun{ra, rb} {
		for _, r := range runs {
			if r.sparse {
				continue
			}
			base := r.lcn * cs
			for _, s := range clip(c.changed, base, base+r.n*cs) {
				out = append(out, span{r.vcn*cs + s.off, r.vcn*cs + s.end})
			}
		}
	}
	for _, s := range remapped(ra, rb) {
		out = append(out, span{s.off * cs, s.end * cs})
	}
	return normalize(out)
}

// remapped returns the VCN ranges that the two runlists map differently.
func remapped(ra, rb []clusterRun) []span {
	var out []span
	i, j := 0, 0
	for i < len(ra) && j < len(rb) {
		x, y := ra[i], rb[j]
		from := max(x.vcn, y.vcn)
		to := min(x.vcn+x.n, y.vcn+y.n)
		if from < to {
			lx, ly := x.lcn+(from-x.vcn), y.lcn+(from-y.vcn)
			if x.sparse != y.sparse || (!x.sparse && lx != ly) {
				out = append(out, span{from, to})
			}
		}
		if x.vcn+x.n <= y.vcn+y.n {
			i++
		} else {
			j++
		}
	}
	// What only one list maps differs from the other's nothing.
	endA, endB := runsEnd(ra), runsEnd(rb)
	for _, r := range ra[i:] {
		if from := max(r.vcn, endB); from < r.vcn+r.n {
			out = append(out, span{from, r.vcn + r.n})
		}
	}
	for _, r := range rb[j:] {
		if from := max(r.vcn, endA); from < r.vcn+r.n {
			out = append(out, span{from, r.vcn + r.n})
		}
	}
	return out
}

func runsEnd(rs []clusterRun) int64 {
	if len(rs) == 0 {
		return 0
	}
	return rs[len(rs)-1].vcn + rs[len(rs)-1].n
}

// compareSpans reads stream name of file num in both states over the
// spans (nil: the whole stream) and reports whether any byte differs.
func (c *ntfsCompare) compareSpans(num int64, name string, spans []span) (bool, error) {
	fa, err := c.a.vol.OpenRecord(uint64(num), name)
	if err != nil {
		return false, fmt.Errorf("stream %q in %s: %w", name, "the older state", err)
	}
	fb, err := c.b.vol.OpenRecord(uint64(num), name)
	if err != nil {
		return false, fmt.Errorf("stream %q in %s: %w", name, "the newer state", err)
	}
	if fa.Size() != fb.Size() {
		return true, nil
	}
	if spans == nil {
		return sameReadersNot(io.NewSectionReader(fa, 0, fa.Size()), io.NewSectionReader(fb, 0, fb.Size()))
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
