package diff

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"sort"

	"github.com/ckptfs/ckptfs/guest"
)

// recordState is one side of an incremental comparison.
type recordState struct {
	fs guest.RecordFS
}

// recordSide is one file's record in one state.
type recordSide struct {
	ok  bool // a live file is in the record
	rec guest.FileRecord
}

// recordDiff compares two states of a volume whose filesystem keeps its
// files in records (guest.RecordFS: NTFS) by reading only the records that
// lie in the changed spans (volume offsets) of either state.
// With thorough, the files whose data extents meet the changed spans in
// either state are compared too (see dataFiles); the notes then name the
// records that scan could not read.
func recordDiff(ctx context.Context, name string, fa, fb guest.RecordFS, changed []span, thorough bool) ([]FileChange, []string, error) {
	a, b := &recordState{fa}, &recordState{fb}
	set := changedFiles(a, b, changed)
	var notes []string
	if thorough {
		for _, s := range []struct {
			st   *recordState
			name string
		}{{a, "the older state"}, {b, "the newer state"}} {
			n, err := dataFiles(ctx, name, s.name, s.st, changed, set)
			if err != nil {
				return nil, nil, err
			}
			notes = append(notes, n...)
		}
	}
	c := &recordCompare{vol: name, a: a, b: b, changed: changed}
	for _, num := range sortedNums(set) {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if err := c.file(num); err != nil {
			return nil, nil, fmt.Errorf("%s %d: %w", fa.RecordName(), num, err)
		}
	}
	return c.out, notes, nil
}

// sortedNums returns the record numbers of a set, ascending.
func sortedNums(set map[uint64]bool) []uint64 {
	var out []uint64
	for num, ok := range set {
		if ok {
			out = append(out, num)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// changedFiles returns the set of the files whose records have a byte in
// the changed spans of either state.
func changedFiles(a, b *recordState, changed []span) map[uint64]bool {
	set := map[uint64]bool{}
	for _, st := range []*recordState{a, b} {
		for _, s := range changed {
			for _, num := range st.fs.RecordFilesIn(s.off, s.end) {
				set[num] = true
			}
		}
	}
	return set
}

// recordCompare collects the changes of one volume.
type recordCompare struct {
	vol     string
	a, b    *recordState
	changed []span
	out     []FileChange
}

// side reads record num in one state.
func (st *recordState) side(num uint64) (recordSide, error) {
	r, ok, err := st.fs.FileRecord(num)
	return recordSide{ok: ok, rec: r}, err
}

// file compares the file in record num between the two states.
func (c *recordCompare) file(num uint64) error {
	sa, err := c.a.side(num)
	if err != nil {
		return err
	}
	sb, err := c.b.side(num)
	if err != nil {
		return err
	}
	same := sa.ok && sb.ok && sa.rec.Gen == sb.rec.Gen
	if !same {
		c.emit(sa.rec.Paths, Removed, nil, sa.size(), 0)
		c.emit(sb.rec.Paths, Added, nil, 0, sb.size())
		return nil
	}
	what, err := c.what(num, sa, sb)
	if err != nil {
		return err
	}
	c.matchPaths(sa, sb, what)
	return nil
}

// matchPaths reports a file present in both states under its paths: one
// path each that differ is a rename; otherwise each path is modified,
// added or removed (hard links).
func (c *recordCompare) matchPaths(sa, sb recordSide, what []string) {
	pa, pb := sa.rec.Paths, sb.rec.Paths
	if len(pa) == 1 && len(pb) == 1 && pa[0] != pb[0] {
		c.out = append(c.out, FileChange{Path: c.vol + "/" + pb[0], Change: Renamed,
			From: c.vol + "/" + pa[0], What: what}.sizes(sa.size(), sb.size()))
		return
	}
	inA := map[string]bool{}
	for _, p := range pa {
		inA[p] = true
	}
	inB := map[string]bool{}
	for _, p := range pb {
		inB[p] = true
		if !inA[p] {
			c.emit([]string{p}, Added, []string{WhatLinks}, 0, sb.size())
		} else if len(what) > 0 {
			c.emit([]string{p}, Modified, what, sa.size(), sb.size())
		}
	}
	for _, p := range pa {
		if !inB[p] {
			c.emit([]string{p}, Removed, []string{WhatLinks}, sa.size(), 0)
		}
	}
}

func (c *recordCompare) emit(paths []string, ch Change, what []string, before, after int64) {
	for _, p := range paths {
		c.out = append(c.out, FileChange{Path: c.vol + "/" + p, Change: ch, What: what}.sizes(before, after))
	}
}

// size is the file's size, 0 when the record holds none.
func (s recordSide) size() int64 {
	if !s.ok || s.rec.Info == nil || s.rec.Info.IsDir() {
		return 0
	}
	return s.rec.Info.Size()
}

// what lists the properties of one file that differ between the states.
func (c *recordCompare) what(num uint64, sa, sb recordSide) ([]string, error) {
	fa, fb := sa.rec.Info, sb.rec.Info
	var what []string
	if fa.IsDir() != fb.IsDir() || fa.Mode()&fs.ModeSymlink != fb.Mode()&fs.ModeSymlink {
		return []string{WhatType}, nil
	}
	if !fa.IsDir() {
		diff := fa.Size() != fb.Size()
		if !diff {
			var err error
			if diff, err = c.streamDiffers(num, ""); err != nil {
				return nil, err
			}
		}
		if diff {
			what = append(what, WhatContent)
		}
		if fa.Size() != fb.Size() {
			what = append(what, WhatSize)
		}
	}
	ma, mb := guest.MetaOf(fa), guest.MetaOf(fb)
	for _, t := range []struct {
		name string
		diff bool
	}{
		{WhatMtime, !fa.ModTime().Equal(fb.ModTime())},
		{WhatCtime, !ma.Ctime.Equal(mb.Ctime)},
		{WhatAtime, !ma.Atime.Equal(mb.Atime)},
		{WhatBtime, !ma.Crtime.Equal(mb.Crtime)},
		{WhatAttributes, ma.Attrs != mb.Attrs},
	} {
		if t.diff {
			what = append(what, t.name)
		}
	}
	sd, err := c.streamsDiffer(num, ma.Streams, mb.Streams)
	if err != nil {
		return nil, err
	}
	if sd {
		what = append(what, WhatStreams)
	}
	if ma.Nlink != mb.Nlink {
		what = append(what, WhatLinks)
	}
	if sa.rec.Target != sb.rec.Target {
		what = append(what, WhatTarget)
	}
	return what, nil
}

// streamsDiffer compares the named streams: the same names, and the same
// sizes and bytes where they could have changed.
func (c *recordCompare) streamsDiffer(num uint64, a, b []string) (bool, error) {
	if !slices.Equal(a, b) {
		return true, nil
	}
	for _, s := range a {
		d, err := c.streamDiffers(num, s)
		if err != nil || d {
			return d, err
		}
	}
	return false, nil
}
