package diff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"time"

	"github.com/ckptfs/ckptfs/guest"
)

// walkEntry is what a full walk keeps about one path.
type walkEntry struct {
	typ    fs.FileMode // type bits
	perm   fs.FileMode
	size   int64
	mtime  time.Time
	target string
	id     fileKey // identity where renames can be told, else zero
}

// fileKey is a file's identity and generation (see guest.FileGenerationer).
type fileKey struct{ id, gen uint64 }

// walkTree lists every entry of fsys but the root. Unreadable directories
// are noted and skipped rather than failing the whole diff.
func walkTree(ctx context.Context, fsys fs.FS, vol string, notes *[]string) (map[string]walkEntry, error) {
	out := map[string]walkEntry{}
	err := fs.WalkDir(fsys, ".", func(p string, de fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			*notes = append(*notes, fmt.Sprintf("%s/%s: not read: %v", vol, p, err))
			if de != nil && de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p == "." {
			return nil
		}
		info, err := de.Info()
		if err != nil {
			*notes = append(*notes, fmt.Sprintf("%s/%s: not read: %v", vol, p, err))
			return nil
		}
		out[p] = entryOf(fsys, p, info)
		return nil
	})
	return out, err
}

// entryOf is what a walk keeps about path p, described by info.
func entryOf(fsys fs.FS, p string, info fs.FileInfo) walkEntry {
	e := walkEntry{typ: info.Mode().Type(), perm: info.Mode().Perm(), mtime: info.ModTime()}
	if info.Mode().IsRegular() {
		e.size = info.Size()
	}
	// Only an identity with a generation tells a file renamed from
	// a freed slot reused: without one, no renames.
	if m := guest.MetaOf(info); m.HasID && m.HasGen {
		e.id = fileKey{m.ID, m.Gen}
	}
	if e.typ&fs.ModeSymlink != 0 {
		e.target, _ = fs.ReadLink(fsys, p)
	}
	return e
}

// walkDiff compares two trees entry by entry: name, type, size, mtime,
// permissions, link target, and the content of regular files of equal
// size. An entry removed at one path and added at another with the same
// identity and generation (NTFS: MFT reference) is reported as renamed.
func walkDiff(ctx context.Context, vol string, fa, fb fs.FS) ([]FileChange, []string, error) {
	var notes []string
	ta, err := walkTree(ctx, fa, vol, &notes)
	if err != nil {
		return nil, nil, err
	}
	tb, err := walkTree(ctx, fb, vol, &notes)
	if err != nil {
		return nil, nil, err
	}
	out, err := compareTrees(vol, fa, fb, ta, tb)
	return out, notes, err
}

// compareTrees compares the entries ta of fa with tb of fb, as walkDiff
// describes (inodeDiff gives it the entries of the paths that can differ).
func compareTrees(vol string, fa, fb fs.FS, ta, tb map[string]walkEntry) ([]FileChange, error) {
	var out []FileChange
	renamedFrom := map[string]bool{}
	gone := map[fileKey]string{}
	for p, ea := range ta {
		if _, ok := tb[p]; !ok {
			// Of several paths of one file gone (hard links), the first
			// by name, so that the result does not depend on map order.
			if old, seen := gone[ea.id]; ea.id != (fileKey{}) && (!seen || p < old) {
				gone[ea.id] = p
			}
		}
	}
	for _, p := range sortedKeys(tb) {
		eb := tb[p]
		ea, ok := ta[p]
		if !ok {
			if old, ok := gone[eb.id]; ok && eb.id != (fileKey{}) {
				delete(gone, eb.id)
				renamedFrom[old] = true
				what, err := compareEntries(fa, fb, old, p, ta[old], eb)
				if err != nil {
					return nil, err
				}
				out = append(out, FileChange{Path: vol + "/" + p, Change: Renamed, From: vol + "/" + old, What: what}.sizes(ta[old].size, eb.size))
				continue
			}
			out = append(out, FileChange{Path: vol + "/" + p, Change: Added}.sizes(0, eb.size))
			continue
		}
		what, err := compareEntries(fa, fb, p, p, ea, eb)
		if err != nil {
			return nil, err
		}
		if len(what) > 0 {
			out = append(out, FileChange{Path: vol + "/" + p, Change: Modified, What: what}.sizes(ea.size, eb.size))
		}
	}
	for _, p := range sortedKeys(ta) {
		if _, ok := tb[p]; ok {
			continue
		}
		if renamedFrom[p] {
			continue
		}
		out = append(out, FileChange{Path: vol + "/" + p, Change: Removed}.sizes(ta[p].size, 0))
	}
	return out, nil
}

func sortedKeys(m map[string]walkEntry) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// compareEntries lists what differs between entry pa of fa and pb of fb.
func compareEntries(fa, fb fs.FS, pa, pb string, ea, eb walkEntry) ([]string, error) {
	var what []string
	if ea.typ != eb.typ {
		return []string{WhatType}, nil
	}
	if ea.typ.IsRegular() {
		same := ea.size == eb.size
		if same {
			var err error
			if same, err = sameContent(fa, fb, pa, pb); err != nil {
				return nil, err
			}
		}
		if !same {
			what = append(what, WhatContent)
		}
	}
	if ea.size != eb.size {
		what = append(what, WhatSize)
	}
	if !ea.mtime.Equal(eb.mtime) {
		what = append(what, WhatMtime)
	}
	if ea.target != eb.target {
		what = append(what, WhatTarget)
	}
	if ea.perm != eb.perm {
		what = append(what, WhatMode)
	}
	return what, nil
}

// sameContent compares two files of equal size chunk by chunk, stopping at
// the first difference.
func sameContent(fa, fb fs.FS, pa, pb string) (bool, error) {
	a, err := fa.Open(pa)
	if err != nil {
		return false, fmt.Errorf("%s: %w", pa, err)
	}
	defer a.Close()
	b, err := fb.Open(pb)
	if err != nil {
		return false, fmt.Errorf("%s: %w", pb, err)
	}
	defer b.Close()
	return sameReaders(a, b)
}

func sameReaders(a, b io.Reader) (bool, error) {
	ba := make([]byte, 1<<20)
	bb := make([]byte, 1<<20)
	for {
		na, ea := io.ReadFull(a, ba)
		nb, eb := io.ReadFull(b, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		endA := errors.Is(ea, io.EOF) || errors.Is(ea, io.ErrUnexpectedEOF)
		endB := errors.Is(eb, io.EOF) || errors.Is(eb, io.ErrUnexpectedEOF)
		if ea != nil && !endA {
			return false, ea
		}
		if eb != nil && !endB {
			return false, eb
		}
		if endA || endB {
			return endA == endB, nil
		}
	}
}
