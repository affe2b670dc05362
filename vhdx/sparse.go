package vhdx

// sparseTable is an array of uint64 whose pages of zeros take no memory, so
// a huge, mostly empty disk costs memory in proportion to what it holds.
type sparseTable struct {
	n     int64
	pages [][]uint64
}

const sparsePageBits = 12
const sparsePage = 1 << sparsePageBits

func newSparseTable(n int64) *sparseTable {
	return &sparseTable{n: n, pages: make([][]uint64, (n+sparsePage-1)/sparsePage)}
}

func (t *sparseTable) get(i int64) uint64 {
	p := t.pages[i>>sparsePageBits]
	if p == nil {
		return 0
	}
	return p[i&(sparsePage-1)]
}

func (t *sparseTable) set(i int64, v uint64) {
	pi := i >> sparsePageBits
	p := t.pages[pi]
	if p == nil {
		if v == 0 {
			return
		}
		p = make([]uint64, sparsePage)
		t.pages[pi] = p
	}
	p[i&(sparsePage-1)] = v
}
