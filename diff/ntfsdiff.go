package diff

import (
	"context"
	"fmt"
	"sort"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/ntfs"
)

// Records below this number are NTFS metadata files ($MFT ... $Extend),
// never shown as guest files; the root directory is record 5.
const (
	firstUserRecord = 16
	rootRecord      = 5
)

// ntfsState is one side of an incremental NTFS comparison.
type ntfsState struct {
	vol   *ntfs.Volume
	paths *pathCache
}

func newNTFSState(v *ntfs.Volume) *ntfsState {
	return &ntfsState{vol: v, paths: newPathCache(v)}
}

// ntfsSide is one file's record in one state.
type ntfsSide struct {
	info  *ntfs.FileRecordInfo // nil: no live file in the record
	paths []string             // visible paths; empty for hidden (metadata) files
}

// ntfsDiff compares two states of an NTFS volume by reading only the MFT
// records that lie in the changed spans (volume offsets) of either state.
// With thorough, the files whose data extents meet the changed spans in
// either state are compared too (see dataFiles); the notes then name the
// records that scan could not read.
func ntfsDiff(ctx context.Context, name string, ga, gb *guest.Volume, changed []span, thorough bool) ([]FileChange, []string, error) {
	a := newNTFSState(ga.FS.(*ntfs.Volume))
	b := newNTFSState(gb.FS.(*ntfs.Volume))
	set, err := changedFiles(a, b, changed)
	if err != nil {
		return nil, nil, err
	}
	var notes []string
	if thorough {
		for _, s := range []struct {
			st   *ntfsState
			name string
		}{{a, "the older state"}, {b, "the newer state"}} {
			n, err := dataFiles(ctx, name, s.name, s.st, changed, set)
			if err != nil {
				return nil, nil, err
			}
			notes = append(notes, n...)
		}
	}
	c := &ntfsCompare{vol: name, a: a, b: b, changed: changed}
	for _, num := range sortedNums(set) {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if err := c.file(num); err != nil {
			return nil, nil, fmt.Errorf("MFT record %d: %w", num, err)
		}
	}
	return c.out, notes, nil
}

// sortedNums returns the user file record numbers of a set, ascending.
func sortedNums(set map[int64]bool) []int64 {
	var out []int64
	for num, ok := range set {
		if ok && num >= firstUserRecord {
			out = append(out, num)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// changedFiles returns the set of base record numbers of the files whose
// records (base or extension) have a byte in the changed spans of either
// state.
func changedFiles(a, b *ntfsState, changed []span) (map[int64]bool, error) {
	set := map[int64]bool{}
	for _, st := range []*ntfsState{a, b} {
		for _, s := range changed {
			for _, num := range st.vol.RecordsIn(s.off, s.end) {
				set[int64(num)] = true
			}
		}
	}
	bases := map[int64]bool{}
	for num := range set {
		ext, base := false, false
		for _, st := range []*ntfsState{a, b} {
			h, err := st.header(num)
			switch {
			case err != nil:
				base = true // let side report the damage
			case !h.Present:
			case h.Base.Record != 0:
				bases[int64(h.Base.Record)], ext = true, true
			default:
				base = true
			}
		}
		if base || !ext {
			bases[num] = true
		}
	}
	return bases, nil
}

// ntfsCompare collects the changes of one volume.
type ntfsCompare struct {
	vol     string
	a, b    *ntfsState
	changed []span
	out     []FileChange
}

// header reads the header of record num in one state; a number past
// this state's $MFT holds no record.
func (st *ntfsState) header(num int64) (ntfs.RecordHeader, error) {
	if num < 0 || uint64(num) >= st.vol.Records() {
		return ntfs.RecordHeader{}, nil
	}
	return st.vol.RecordHeader(uint64(num))
}

// side reads record num in one state.
func (st *ntfsState) side(num int64) (ntfsSide, error) {
	var s ntfsSide
	h, err := st.header(num)
	if err != nil || !h.Present || h.Base.Record != 0 {
		return s, err
	}
	fi, err := st.vol.Record(uint64(num))
	if err != nil {
		return s, err
	}
	if !fi.InUse {
		return s, nil
	}
	s.info = fi
	s.paths, err = st.paths.pathsOf(fi)
	return s, err
}

// file compares the file in record num between the two states.
func (c *ntfsCompare) file(num int64) error {
	sa, err := c.a.side(num)
	if err != nil {
		return err
	}
	sb, err := c.b.side(num)
	if err != nil {
		return err
	}
	same := sa.info != nil && sb.info != nil && sa.info.Ref.Seq == sb.info.Ref.Seq
	if !same {
		c.emit(sa.paths, Removed, nil, size(sa.info))
		c.emit(sb.paths, Added, nil, size(sb.info))
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
func (c *ntfsCompare) matchPaths(sa, sb ntfsSide, what []string) {
	if len(sa.paths) == 1 && len(sb.paths) == 1 && sa.paths[0] != sb.paths[0] {
		c.out = append(c.out, FileChange{Path: c.vol + "/" + sb.paths[0], Change: Renamed,
			From: c.vol + "/" + sa.paths[0], What: what, Size: sb.info.Size})
		return
	}
	inA := map[string]bool{}
	for _, p := range sa.paths {
		inA[p] = true
	}
	inB := map[string]bool{}
	for _, p := range sb.paths {
		inB[p] = true
		if !inA[p] {
			c.emit([]string{p}, Added, []string{WhatLinks}, sb.info.Size)
		} else if len(what) > 0 {
			c.emit([]string{p}, Modified, what, sb.info.Size)
		}
	}
	for _, p := range sa.paths {
		if !inB[p] {
			c.emit([]string{p}, Removed, []string{WhatLinks}, sa.info.Size)
		}
	}
}

func (c *ntfsCompare) emit(paths []string, ch Change, what []string, sz int64) {
	for _, p := range paths {
		c.out = append(c.out, FileChange{Path: c.vol + "/" + p, Change: ch, What: what, Size: sz})
	}
}

func size(fi *ntfs.FileRecordInfo) int64 {
	if fi == nil {
		return 0
	}
	return fi.Size
}

// what lists the properties of one file that differ between the states.
func (c *ntfsCompare) what(num int64, sa, sb ntfsSide) ([]string, error) {
	fa, fb := sa.info, sb.info
	var what []string
	if fa.Dir != fb.Dir || fa.IsSymlink() != fb.IsSymlink() {
		return []string{WhatType}, nil
	}
	if !fa.Dir {
		diff := fa.Size != fb.Size
		if !diff {
			var err error
			if diff, err = c.streamDiffers(num, ""); err != nil {
				return nil, err
			}
		}
		if diff {
			what = append(what, WhatContent)
		}
		if fa.Size != fb.Size {
			what = append(what, WhatSize)
		}
	}
	for _, t := range []struct {
		name string
		diff bool
	}{
		{WhatMtime, !fa.Modified.Equal(fb.Modified)},
		{WhatCtime, !fa.Changed.Equal(fb.Changed)},
		{WhatAtime, !fa.Accessed.Equal(fb.Accessed)},
		{WhatBtime, !fa.Created.Equal(fb.Created)},
		{WhatAttributes, fa.Attributes != fb.Attributes},
	} {
		if t.diff {
			what = append(what, t.name)
		}
	}
	sd, err := c.streamsDiffer(num, sa, sb)
	if err != nil {
		return nil, err
	}
	if sd {
		what = append(what, WhatStreams)
	}
	if fa.Links != fb.Links {
		what = append(what, WhatLinks)
	}
	if target(fa) != target(fb) {
		what = append(what, WhatTarget)
	}
	return what, nil
}

func target(fi *ntfs.FileRecordInfo) string {
	if fi.Reparse == nil {
		return ""
	}
	return fmt.Sprintf("%#x %s", fi.Reparse.Tag, fi.Reparse.Target())
}

// streamsDiffer compares the named streams: the same names and sizes, and
// the same bytes where they could have changed.
func (c *ntfsCompare) streamsDiffer(num int64, sa, sb ntfsSide) (bool, error) {
	a, b := sa.info.Streams, sb.info.Streams
	if len(a) != len(b) {
		return true, nil
	}
	for i := range a {
		if a[i] != b[i] {
			return true, nil
		}
	}
	for _, s := range a {
		d, err := c.streamDiffers(num, s.Name)
		if err != nil || d {
			return d, err
		}
	}
	return false, nil
}
