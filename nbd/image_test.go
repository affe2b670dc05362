package nbd

import "fmt"

// sparseImage is an in-memory export with data runs and holes, and the
// map that says which is which.
type sparseImage struct {
	data []byte
	runs []Extent
}

func (m *sparseImage) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.data)) {
		return 0, fmt.Errorf("read at %d past %d", off, len(m.data))
	}
	n := copy(p, m.data[off:])
	return n, nil
}

func (m *sparseImage) Map(off, n int64) ([]Extent, error) {
	var out []Extent
	for _, r := range m.runs {
		s, e := max(r.Off, off), min(r.Off+r.Len, off+n)
		if s < e {
			out = append(out, Extent{Off: s, Len: e - s, Hole: r.Hole, Zero: r.Zero})
		}
	}
	return out, nil
}

// newSparseImage lays out 8 MiB: data, a 2 MiB hole, data, a 1 MiB zero
// run, data up to the end; the data is a deterministic pattern.
func newSparseImage() *sparseImage {
	const mib = 1 << 20
	m := &sparseImage{data: make([]byte, 8*mib)}
	m.runs = []Extent{
		{Off: 0, Len: 1 * mib},
		{Off: 1 * mib, Len: 2 * mib, Hole: true},
		{Off: 3 * mib, Len: 2 * mib},
		{Off: 5 * mib, Len: 1 * mib, Zero: true},
		{Off: 6 * mib, Len: 2 * mib},
	}
	for _, r := range m.runs {
		if r.Hole || r.Zero {
			continue
		}
		for i := r.Off; i < r.Off+r.Len; i++ {
			m.data[i] = byte(i*7 + i>>12)
		}
	}
	return m
}
