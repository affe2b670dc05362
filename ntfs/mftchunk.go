package ntfs

import (
	"io"
	"slices"
)

// Reading $MFT in blocks. A record is read with the 4 KiB block holding
// it (one record when records are larger): what a disk reads anyway, and
// no more, since a lookup of one path touches records far apart. A walk
// (find, ls -l, a copy of a folder) asks for the records of a folder's
// children one after another, and files made together have records
// together: once the folder is listed, where its children's records lie
// is known (childRuns), and a miss on one of them reads the stretch of
// neighbouring children around it in one request, up to mftMaxSpan. So a
// listing with every entry described reads the children's records in a
// few requests, and a walk that only lists reads no record but the
// folders'.
const (
	mftBlockMin = 4 << 10
	// mftMaxSpan bounds one read of a run of children, and aligns it:
	// a run spanning several stretches is read a stretch at a time,
	// each once.
	mftMaxSpan = 256 << 10
	// mftRunGap is how many records may lie between two children and
	// still be read with them rather than skipped: below a few blocks,
	// one request costs less than two.
	mftRunGap = 8
	// mftCacheBytes bounds the raw $MFT blocks kept per volume.
	mftCacheBytes = 16 << 20
)

// mftRange is a byte range [lo, hi) of the $MFT stream.
type mftRange struct{ lo, hi int64 }

// childRuns returns where the records refs name lie close together in
// $MFT (at most mftRunGap records apart), in order: only runs of two
// records or more, since a lone record is read with its block anyway.
func childRuns(refs []uint64, recSize int64) []mftRange {
	if len(refs) < 2 {
		return nil
	}
	slices.Sort(refs)
	var out []mftRange
	lo, hi := refs[0], refs[0]
	flush := func() {
		if hi > lo {
			out = append(out, mftRange{int64(lo) * recSize, int64(hi+1) * recSize})
		}
	}
	for _, r := range refs[1:] {
		if r-hi > mftRunGap {
			flush()
			lo = r
		}
		hi = r
	}
	flush()
	return out
}

// find returns the run holding byte off, or an empty range.
func findRun(runs []mftRange, off int64) mftRange {
	i, _ := slices.BinarySearchFunc(runs, off, func(r mftRange, o int64) int {
		if r.hi <= o {
			return -1
		}
		if r.lo > o {
			return 1
		}
		return 0
	})
	if i < len(runs) && runs[i].lo <= off && off < runs[i].hi {
		return runs[i]
	}
	return mftRange{}
}

// readMFT fills p from the $MFT stream at off, through the block cache;
// near is the run of records worth reading with it on a miss (empty: the
// block alone). A read spanning blocks (records that are not a power of
// two may straddle two) is served piecewise.
func (v *Volume) readMFT(p []byte, off int64, near mftRange) error {
	bs := v.mftBlock
	for len(p) > 0 {
		idx := off / bs
		blk, err := v.mftBlockAt(idx, near)
		if err != nil {
			// A block may hold an unreadable run (a damaged or hostile
			// runlist) next to the record wanted: read just that.
			_, err := v.mft.ReadAt(p, off)
			return err
		}
		in := off - idx*bs
		if in >= int64(len(blk)) {
			return io.ErrUnexpectedEOF
		}
		n := copy(p, blk[in:])
		p, off = p[n:], off+int64(n)
	}
	return nil
}

// mftBlockAt returns block idx of $MFT (shorter at its end), reading it
// on a miss, with the blocks of near within the same mftMaxSpan stretch
// that are not cached yet. Two readers missing the same block at once
// both read it: rare, and cheaper than making one wait.
func (v *Volume) mftBlockAt(idx int64, near mftRange) ([]byte, error) {
	if b, ok := v.mftBlocks.Get(idx); ok {
		return b, nil
	}
	bs := v.mftBlock
	first, last := idx, idx
	if near.lo <= idx*bs && idx*bs < near.hi {
		span := max(mftMaxSpan/bs, 1)
		lo := max(near.lo/bs, idx/span*span)
		hi := min((near.hi-1)/bs, idx/span*span+span-1)
		for first > lo && !v.mftBlocks.Has(first-1) {
			first--
		}
		hi = min(hi, (v.mft.size-1)/bs)
		for last < hi && !v.mftBlocks.Has(last+1) {
			last++
		}
	}
	start := first * bs
	n := min((last+1)*bs, v.mft.size) - start
	if n <= 0 || idx*bs >= v.mft.size {
		return nil, io.ErrUnexpectedEOF
	}
	buf := make([]byte, n)
	if _, err := v.mft.ReadAt(buf, start); err != nil && err != io.EOF {
		return nil, err
	}
	var want []byte
	for i := first; i <= last; i++ {
		s := (i - first) * bs
		b := buf[s:min(s+bs, n):min(s+bs, n)]
		if first != last {
			// Each block its own copy: a slice of the run's buffer
			// would keep the whole run in memory while any one block of
			// it stays cached, and the cache's bound would not hold.
			b = slices.Clone(b)
		}
		v.mftBlocks.Put(i, b)
		if i == idx {
			want = b
		}
	}
	return want, nil
}
