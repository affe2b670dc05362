package exfat

import (
	"cmp"
	"encoding/binary"
	"io"
	"slices"
)

// FAT values that are not cluster numbers.
const (
	fatBad = 0xFFFFFFF7 // a bad cluster: never part of a valid chain
	fatEnd = 0xFFFFFFFF // the end of a chain
)

// maxDirBytes is the largest directory the specification allows: 2^23
// entries of 32 bytes (256 MiB). Directories are read whole, so a
// directory claiming more is refused rather than read.
const maxDirBytes = 256 << 20

// run is a stretch of a file or directory whose clusters follow each
// other in the cluster heap.
type run struct {
	fileOff int64 // where the run starts in the file
	volOff  int64 // where it starts on the volume
	length  int64
}

// fatReader looks up FAT entries through a window of the active FAT, so
// that following a chain of neighbouring clusters reads the FAT once per
// window instead of once per cluster. Each walk has its own: no shared
// state.
type fatReader struct {
	v      *FS
	buf    []byte
	bufIdx int64 // first entry in buf, -1 when empty
}

const fatWindow = 64 << 10

func (v *FS) newFatReader() *fatReader {
	return &fatReader{v: v, bufIdx: -1}
}

// next returns the FAT entry of cluster c (a valid cluster number).
func (f *fatReader) next(c uint32) (uint32, error) {
	idx := int64(c)
	if f.bufIdx < 0 || idx < f.bufIdx || idx >= f.bufIdx+int64(len(f.buf)/4) {
		entries := int64(f.v.boot.ClusterCount) + 2
		start := idx &^ (fatWindow/4 - 1)
		n := min(fatWindow/4, entries-start)
		if cap(f.buf) < int(n*4) {
			f.buf = make([]byte, n*4)
		}
		f.buf = f.buf[:n*4]
		if err := readFull(f.v.r, f.v.size, f.buf, f.v.fatOff+start*4); err != nil {
			f.bufIdx = -1
			return 0, err
		}
		f.bufIdx = start
	}
	return binary.LittleEndian.Uint32(f.buf[(idx-f.bufIdx)*4:]), nil
}

// validCluster reports whether c names a cluster of the heap.
func (v *FS) validCluster(c uint32) bool {
	return c >= 2 && uint64(c) <= uint64(v.boot.ClusterCount)+1
}

// clusterOff is the volume offset of cluster c (a valid one).
func (v *FS) clusterOff(c uint32) int64 {
	return v.heapOff + int64(c-2)<<v.clusterShift
}

// chainRuns maps the clusters of an allocation starting at first. With
// contiguous (the NoFatChain flag) the clusters simply follow each
// other; otherwise the FAT links them. want is the number of bytes the
// allocation must cover; with want < 0 (the root directory, whose size
// only its chain tells) the chain is followed to its end, up to
// maxDirBytes. what names the allocation in errors; at is the offset of
// the entry that describes it.
func (v *FS) chainRuns(first uint32, want int64, contiguous bool, what string, at int64) ([]run, error) {
	if want == 0 {
		return nil, nil
	}
	if !v.validCluster(first) {
		return nil, formatErr(at, "%s starts at cluster %d (the heap has 2-%d)", what, first, uint64(v.boot.ClusterCount)+1)
	}
	cs := int64(1) << v.clusterShift
	limit := (want + cs - 1) >> v.clusterShift
	if want < 0 {
		// A chain can hold every cluster at most once: longer means a loop.
		limit = min((maxDirBytes+cs-1)>>v.clusterShift, int64(v.boot.ClusterCount))
	} else if limit > int64(v.boot.ClusterCount) {
		return nil, formatErr(at, "%s of %d bytes is larger than the cluster heap", what, want)
	}
	if contiguous {
		if uint64(first)+uint64(limit)-1 > uint64(v.boot.ClusterCount)+1 {
			return nil, formatErr(at, "%s of %d contiguous clusters from cluster %d runs past the heap", what, limit, first)
		}
		return []run{{volOff: v.clusterOff(first), length: limit << v.clusterShift}}, nil
	}
	runs, err := v.walk(first, limit, want < 0, what, at)
	if err != nil {
		return nil, err
	}
	if err := checkOverlap(runs, what, at); err != nil {
		return nil, err
	}
	return runs, nil
}

// walk follows the FAT from first for at most limit clusters; toEnd says
// that the chain must end (with fatEnd) within them.
func (v *FS) walk(first uint32, limit int64, toEnd bool, what string, at int64) ([]run, error) {
	f := v.newFatReader()
	var runs []run
	c := first
	for i := int64(0); ; i++ {
		if !v.validCluster(c) {
			return nil, formatErr(at, "%s: cluster %d of the chain is %#x", what, i, c)
		}
		off := v.clusterOff(c)
		cs := int64(1) << v.clusterShift
		if n := len(runs); n > 0 && runs[n-1].volOff+runs[n-1].length == off {
			runs[n-1].length += cs
		} else {
			runs = append(runs, run{fileOff: i << v.clusterShift, volOff: off, length: cs})
		}
		if i+1 == limit && !toEnd {
			return runs, nil
		}
		next, err := f.next(c)
		if err != nil {
			return nil, err
		}
		switch {
		case next == fatEnd && !toEnd:
			return nil, formatErr(at, "%s: chain ends after %d of %d clusters", what, i+1, limit)
		case next == fatEnd:
			return runs, nil
		case i+1 >= limit:
			return nil, formatErr(at, "%s: chain longer than %d clusters (a loop)", what, limit)
		}
		c = next
	}
}

// checkOverlap refuses runs that share clusters: a chain that comes back
// to a cluster it passed would repeat forever.
func checkOverlap(runs []run, what string, at int64) error {
	if len(runs) < 2 {
		return nil
	}
	s := slices.Clone(runs)
	slices.SortFunc(s, func(a, b run) int { return cmp.Compare(a.volOff, b.volOff) })
	for i := 1; i < len(s); i++ {
		if s[i].volOff < s[i-1].volOff+s[i-1].length {
			return formatErr(at, "%s: its chain comes back to the cluster at byte %d (a loop)", what, s[i].volOff)
		}
	}
	return nil
}

// readRuns fills p from byte off of an allocation mapped by runs, which
// cover at least off+len(p) bytes.
func (v *FS) readRuns(runs []run, p []byte, off int64) error {
	i, _ := slices.BinarySearchFunc(runs, off, func(r run, off int64) int {
		switch {
		case r.fileOff+r.length <= off:
			return -1
		case r.fileOff > off:
			return 1
		}
		return 0
	})
	for n := 0; n < len(p); i++ {
		if i >= len(runs) {
			return io.ErrUnexpectedEOF
		}
		r := runs[i]
		at := off + int64(n) - r.fileOff
		chunk := p[n:min(int64(len(p)), int64(n)+r.length-at)]
		if err := readFull(v.r, v.size, chunk, r.volOff+at); err != nil {
			return err
		}
		n += len(chunk)
	}
	return nil
}
