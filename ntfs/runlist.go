package ntfs

import (
	"sort"
)

// run maps Len clusters starting at VCN to clusters starting at LCN, or to
// nothing (a hole reading as zeros) when Sparse is set.
type run struct {
	VCN    uint64
	LCN    uint64
	Len    uint64
	Sparse bool
}

// decodeRuns decodes a mapping-pairs array. Each pair is a header byte
// (low nibble: size of the length field, high nibble: size of the signed
// LCN delta; 0 means a hole), the length, and the delta from the previous
// run's LCN. span is the number of VCNs the attribute piece claims; the
// runs may not exceed it, and every run must lie inside the volume.
func decodeRuns(b []byte, startVCN, span, clusters uint64, off int64) ([]run, error) {
	var runs []run
	vcn := startVCN
	var lcn int64
	pos := 0
	for pos < len(b) && b[pos] != 0 {
		h := b[pos]
		lenSize, offSize := int(h&0x0F), int(h>>4)
		if lenSize == 0 || lenSize > 8 || offSize > 8 || pos+1+lenSize+offSize > len(b) {
			return nil, formatErr(off+int64(pos), "bad mapping pair header %#x", h)
		}
		length := leUint(b[pos+1 : pos+1+lenSize])
		if length == 0 {
			return nil, kindErr(ErrRange, off+int64(pos), "run of %d clusters", length)
		}
		r := run{VCN: vcn, Len: length}
		if offSize == 0 {
			r.Sparse = true
		} else {
			lcn += leInt(b[pos+1+lenSize : pos+1+lenSize+offSize])
			if lcn < 0 || uint64(lcn) >= clusters || length > clusters-uint64(lcn) {
				return nil, kindErr(ErrRange, off+int64(pos), "run of %d clusters at LCN %d outside the volume of %d clusters", length, lcn, clusters)
			}
			r.LCN = uint64(lcn)
		}
		if length > span-(vcn-startVCN) {
			return nil, formatErr(off+int64(pos), "runs cover more than the %d clusters the attribute claims", span)
		}
		runs = append(runs, r)
		vcn += length
		pos += 1 + lenSize + offSize
	}
	if err := checkOverlap(runs, off); err != nil {
		return nil, err
	}
	return runs, nil
}

// checkOverlap rejects runs that map the same cluster twice: a cross-linked
// runlist is corrupt, and in $MFT it could make records alias each other.
func checkOverlap(runs []run, off int64) error {
	n := 0
	for _, r := range runs {
		if !r.Sparse {
			n++
		}
	}
	if n < 2 {
		return nil // most files: one run, nothing to sort
	}
	real := make([]run, 0, n)
	for _, r := range runs {
		if !r.Sparse {
			real = append(real, r)
		}
	}
	if len(real) < 2 {
		return nil
	}
	sort.Slice(real, func(i, j int) bool { return real[i].LCN < real[j].LCN })
	for i := 1; i < len(real); i++ {
		if real[i].LCN < real[i-1].LCN+real[i-1].Len {
			return kindErr(ErrLoop, off, "runs at VCN %d and %d share cluster %d", real[i-1].VCN, real[i].VCN, real[i].LCN)
		}
	}
	return nil
}

// leUint reads an unsigned little-endian integer of 1..8 bytes.
func leUint(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// leInt reads a signed (two's complement, sign-extended) little-endian
// integer of 1..8 bytes.
func leInt(b []byte) int64 {
	v := leUint(b)
	if n := uint(len(b)) * 8; n < 64 && v&(1<<(n-1)) != 0 {
		v |= ^uint64(0) << n
	}
	return int64(v)
}

// mergeRuns joins the runs of the pieces of one attribute, in VCN order,
// checking that each piece starts where the previous one ended.
func mergeRuns(pieces []*attribute) ([]run, uint64, error) {
	if len(pieces) > 1 {
		sort.Slice(pieces, func(i, j int) bool { return pieces[i].StartVCN < pieces[j].StartVCN })
	}
	var runs []run
	var next uint64
	for _, p := range pieces {
		if p.StartVCN != next {
			return nil, 0, formatErr(p.Off+0x10, "attribute piece starts at VCN %d, expected %d", p.StartVCN, next)
		}
		if len(pieces) == 1 {
			runs = p.Runs // one piece (most files): its runs, shared, never changed
		} else {
			runs = append(runs, p.Runs...)
		}
		next = p.LastVCN + 1
	}
	if err := checkOverlap(runs, pieces[0].Off); err != nil {
		return nil, 0, err
	}
	return runs, next, nil
}
