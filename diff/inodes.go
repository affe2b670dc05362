package diff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"

	"github.com/ckptfs/ckptfs/guest"
)

// An ext or XFS volume (guest.InodeFS) is compared by the inodes that lie
// in the changed spans, like NTFS by its records, but its inodes do not
// say where they are named, so this finds the paths that can differ and
// compares those paths as the full walk does (compareTrees): the result
// is the walk's whenever the candidate paths hold every path the walk
// would report. They are:
//
//   - for a changed directory (any change of its entries changes its
//     mtime, so its inode), its own path in each state, and every path
//     under each entry that differs between the states (another inode, an
//     inode now of another generation, or a name in one state only): a
//     renamed or removed subtree is listed whole, as the walk lists it;
//   - for a file changed in place (same inode and generation, but another
//     mode, size, mtime, or content in the changed spans), each of its
//     names in each state: looked for first in the listings already read,
//     then in the directories of the file's inode group, then in all.
//
// What this cannot see, no more than the record comparison of NTFS
// without --thorough: bytes of a file or directory written below the
// filesystem (its inode untouched), and a change made within the
// timestamp granularity of the one before it that leaves the inode's bytes
// as they were. Volumes with 128-byte ext inodes (whole-second times) are
// walked for that reason. XFS parent pointers (mkfs.xfs -n parent=1) are
// not used: names are searched as on ext.

// inodeState is one side of an inode comparison.
type inodeState struct {
	ifs  guest.InodeFS
	fsys fs.FS
	// dirs holds the listings read, by directory inode; info the inodes
	// described.
	dirs map[uint64]*inodeListing
	info map[uint64]inodeInfo
	// paths memoizes directory paths ("" for the root); a directory
	// that cannot be reached from the root has ok false.
	paths map[uint64]dirPath
	// groups are the inode groups whose directories have all been
	// listed.
	groups map[uint64]bool
}

type inodeListing struct {
	ents   []guest.InodeEntry
	parent uint64
	err    error
}

type inodeInfo struct {
	fi fs.FileInfo
	ok bool
}

type dirPath struct {
	path string
	ok   bool
}

// maxDirDepth bounds the walk up ".." entries, against loops.
const maxDirDepth = 4096

func newInodeState(ifs guest.InodeFS, fsys fs.FS) *inodeState {
	return &inodeState{ifs: ifs, fsys: fsys, dirs: map[uint64]*inodeListing{}, info: map[uint64]inodeInfo{},
		paths: map[uint64]dirPath{}, groups: map[uint64]bool{}}
}

// inodeDiff compares two states of a volume by the inodes in the changed
// spans (volume offsets); an error means the caller should walk.
// With thorough, the files and directories of either state whose data
// extents meet the changed spans are compared too (see dataInodes).
func inodeDiff(ctx context.Context, vol string, fa, fb fs.FS, ia, ib guest.InodeFS, changed []span, thorough bool) ([]FileChange, []string, error) {
	if ia.InodeGroups() != ib.InodeGroups() || ia.InodeRoot() != ib.InodeRoot() {
		return nil, nil, errors.New("the volume has another number of inode groups (resized)")
	}
	a, b := newInodeState(ia, fa), newInodeState(ib, fb)
	nums, err := changedInodes(a, b, changed)
	if err != nil {
		return nil, nil, err
	}
	c := &inodeCands{a: a, b: b, changed: changed, inC: map[uint64]bool{}, paths: map[string]bool{}}
	for _, n := range nums {
		c.inC[n] = true
	}
	var notes []string
	if thorough {
		for _, st := range []*inodeState{a, b} {
			more, n, err := dataInodes(ctx, vol, st, changed, c.inC)
			if err != nil {
				return nil, nil, err
			}
			notes = append(notes, n...)
			nums = append(nums, more...)
		}
	}
	var targets []uint64
	for _, n := range nums {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		named, err := c.inode(n)
		if err != nil {
			return nil, nil, fmt.Errorf("inode %d: %w", n, err)
		}
		if named {
			targets = append(targets, n)
		}
	}
	for _, st := range []*inodeState{a, b} {
		found, err := st.names(ctx, targets)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range found {
			c.paths[p] = true
		}
	}
	for i, roots := range [][]string{c.rootsA, c.rootsB} {
		fsys := []fs.FS{fa, fb}[i]
		for _, r := range roots {
			if err := subtree(ctx, fsys, vol, r, c.paths, &notes); err != nil {
				return nil, nil, err
			}
		}
	}
	ta, tb := map[string]walkEntry{}, map[string]walkEntry{}
	for _, p := range slices.Sorted(maps.Keys(c.paths)) {
		for i, t := range []map[string]walkEntry{ta, tb} {
			fsys := []fs.FS{fa, fb}[i]
			info, err := fs.Lstat(fsys, p)
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				notes = append(notes, fmt.Sprintf("%s/%s: not read: %v", vol, p, err))
			default:
				t[p] = entryOf(fsys, p, info)
			}
		}
	}
	out, err := compareTrees(vol, fa, fb, ta, tb)
	return out, notes, err
}

// changedInodes returns, ascending, the inodes lying in the changed spans
// of either state whose bytes differ between the states.
func changedInodes(a, b *inodeState, changed []span) ([]uint64, error) {
	set := map[uint64]bool{}
	for _, st := range []*inodeState{a, b} {
		for _, s := range changed {
			for _, n := range st.ifs.InodesIn(s.off, s.end) {
				set[n] = true
			}
		}
	}
	var out []uint64
	for n := range set {
		ba, errA := a.ifs.InodeBytes(n)
		bb, errB := b.ifs.InodeBytes(n)
		if errA == nil && errB == nil && bytes.Equal(ba, bb) {
			continue
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// inodeCands gathers the candidate paths.
type inodeCands struct {
	a, b    *inodeState
	changed []span
	inC     map[uint64]bool // inodes whose bytes differ
	paths   map[string]bool
	// rootsA and rootsB are paths whose whole subtree is a candidate, in
	// the older and the newer state.
	rootsA, rootsB []string
}

// inode adds the candidates of changed inode n; named reports that the
// file's names must be searched for (a file changed in place).
func (c *inodeCands) inode(n uint64) (named bool, err error) {
	ia, err := c.a.inodeInfo(n)
	if err != nil {
		return false, err
	}
	ib, err := c.b.inodeInfo(n)
	if err != nil {
		return false, err
	}
	if !ia.ok || !ib.ok || genOf(ia.fi) != genOf(ib.fi) || ia.fi.Mode().Type() != ib.fi.Mode().Type() {
		// Created, deleted or its slot reused: the entries of its
		// directories changed, and these show it.
		return false, nil
	}
	if ia.fi.IsDir() {
		return false, c.dir(n)
	}
	return c.inPlace(n, ia.fi, ib.fi)
}

func genOf(fi fs.FileInfo) uint64 { return guest.MetaOf(fi).Gen }

// dir adds a directory present in both states: its paths, and the
// subtrees of its entries that differ.
func (c *inodeCands) dir(n uint64) error {
	pa, err := c.a.dirPath(n, 0)
	if err != nil {
		return err
	}
	pb, err := c.b.dirPath(n, 0)
	if err != nil {
		return err
	}
	for _, p := range []dirPath{pa, pb} {
		if p.ok && p.path != "" {
			c.paths[p.path] = true
		}
	}
	la, lb := c.a.listing(n), c.b.listing(n)
	if la.err != nil {
		return la.err
	}
	if lb.err != nil {
		return lb.err
	}
	ea, eb := la.ents, lb.ents
	i, j := 0, 0
	for i < len(ea) || j < len(eb) {
		switch {
		case j == len(eb) || i < len(ea) && ea[i].Name < eb[j].Name:
			c.root(&c.rootsA, pa, ea[i].Name)
			i++
		case i == len(ea) || ea[i].Name > eb[j].Name:
			c.root(&c.rootsB, pb, eb[j].Name)
			j++
		default:
			same, err := c.sameFile(ea[i].Ino, eb[j].Ino)
			if err != nil {
				return err
			}
			if !same {
				c.root(&c.rootsA, pa, ea[i].Name)
				c.root(&c.rootsB, pb, eb[j].Name)
			}
			i++
			j++
		}
	}
	return nil
}

// root adds the subtree of name in directory dir to roots.
func (c *inodeCands) root(roots *[]string, dir dirPath, name string) {
	if dir.ok {
		*roots = append(*roots, joinPath(dir.path, name))
	}
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// sameFile tells whether an entry names the same file in both states:
// the same inode, and, when that inode changed, the same generation and
// type and in use in both.
func (c *inodeCands) sameFile(na, nb uint64) (bool, error) {
	if na != nb {
		return false, nil
	}
	if !c.inC[na] {
		return true, nil
	}
	ia, err := c.a.inodeInfo(na)
	if err != nil {
		return false, err
	}
	ib, err := c.b.inodeInfo(na)
	if err != nil {
		return false, err
	}
	return ia.ok && ib.ok && genOf(ia.fi) == genOf(ib.fi) && ia.fi.Mode().Type() == ib.fi.Mode().Type(), nil
}

// inPlace tells whether a file present in both states changed in what
// the walk compares: mode, size, mtime, or content in the changed spans
// or where its extents moved. A link is always looked up (its target is
// not in its inode's fields the walk compares).
func (c *inodeCands) inPlace(n uint64, fa, fb fs.FileInfo) (bool, error) {
	if fa.Mode() != fb.Mode() || fa.Size() != fb.Size() || !fa.ModTime().Equal(fb.ModTime()) || !fa.Mode().IsRegular() {
		return true, nil
	}
	sa, err := c.a.ifs.OpenInode(n)
	if err != nil {
		return false, err
	}
	sb, err := c.b.ifs.OpenInode(n)
	if err != nil {
		return false, err
	}
	ea, exactA, errA := sa.Extents()
	eb, exactB, errB := sb.Extents()
	if errA != nil || errB != nil || !exactA || !exactB {
		return true, nil
	}
	return compareSpans(sa, sb, suspectSpans(c.changed, ea, eb))
}

// inodeInfo describes inode n in this state, remembered.
func (st *inodeState) inodeInfo(n uint64) (inodeInfo, error) {
	if i, ok := st.info[n]; ok {
		return i, nil
	}
	fi, ok, err := st.ifs.InodeInfo(n)
	if err != nil {
		return inodeInfo{}, err
	}
	i := inodeInfo{fi: fi, ok: ok}
	st.info[n] = i
	return i, nil
}

// listing reads directory n, remembered.
func (st *inodeState) listing(n uint64) *inodeListing {
	if l, ok := st.dirs[n]; ok {
		return l
	}
	ents, parent, err := st.ifs.InodeDir(n)
	l := &inodeListing{ents: ents, parent: parent, err: err}
	st.dirs[n] = l
	return l
}

// dirPath is the path of directory n, found by going up its ".." entries
// and looking for each directory in its parent's listing.
func (st *inodeState) dirPath(n uint64, depth int) (dirPath, error) {
	if n == st.ifs.InodeRoot() {
		return dirPath{ok: true}, nil
	}
	if p, ok := st.paths[n]; ok {
		return p, nil
	}
	if depth > maxDirDepth {
		return dirPath{}, fmt.Errorf("directory inode %d: \"..\" entries nest deeper than %d", n, maxDirDepth)
	}
	var p dirPath
	l := st.listing(n)
	if l.err == nil && l.parent != n {
		up, err := st.dirPath(l.parent, depth+1)
		if err != nil {
			return dirPath{}, err
		}
		if pl := st.listing(l.parent); up.ok && pl.err == nil {
			for _, e := range pl.ents {
				if e.Ino == n {
					p = dirPath{path: joinPath(up.path, e.Name), ok: true}
					break
				}
			}
		}
	}
	st.paths[n] = p
	return p, nil
}

// names returns the paths, in this state, of the targets that are files
// in use: from the listings read so far, then those of the directories of
// each target's inode group, then of all directories, until each target
// has as many names as links.
func (st *inodeState) names(ctx context.Context, targets []uint64) ([]string, error) {
	want := map[uint64]int{}
	for _, t := range targets {
		i, err := st.inodeInfo(t)
		if err != nil {
			return nil, err
		}
		if m := guest.MetaOf(i.fi); i.ok && m.Nlink > 0 {
			want[t] = m.Nlink
		}
	}
	var out []string
	seen := map[uint64]bool{}
	scan := func(d uint64) error {
		if seen[d] || len(want) == 0 {
			return nil
		}
		seen[d] = true
		l := st.listing(d)
		if l.err != nil {
			return nil // not a directory of the tree (a stale one)
		}
		for _, e := range l.ents {
			if _, ok := want[e.Ino]; !ok {
				continue
			}
			p, err := st.dirPath(d, 0)
			if err != nil {
				return err
			}
			if !p.ok {
				continue
			}
			out = append(out, joinPath(p.path, e.Name))
			if want[e.Ino]--; want[e.Ino] == 0 {
				delete(want, e.Ino)
			}
		}
		return nil
	}
	for _, d := range slices.Sorted(maps.Keys(st.dirs)) {
		if err := scan(d); err != nil {
			return nil, err
		}
	}
	for _, t := range targets {
		if _, ok := want[t]; !ok {
			continue
		}
		if err := st.scanGroup(ctx, st.ifs.InodeGroup(t), scan); err != nil {
			return nil, err
		}
	}
	for g := uint64(0); g < st.ifs.InodeGroups() && len(want) > 0; g++ {
		if err := st.scanGroup(ctx, g, scan); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scanGroup lists the directories of group g.
func (st *inodeState) scanGroup(ctx context.Context, g uint64, scan func(uint64) error) error {
	if st.groups[g] {
		return nil
	}
	st.groups[g] = true
	if err := ctx.Err(); err != nil {
		return err
	}
	dirs, err := st.ifs.GroupInodes(g, true)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if err := scan(d); err != nil {
			return err
		}
	}
	return nil
}

// subtree adds root and every path under it in fsys to paths.
func subtree(ctx context.Context, fsys fs.FS, vol, root string, paths map[string]bool, notes *[]string) error {
	// fs.WalkDir follows a link at its root: a link is one path.
	if fi, err := fs.Lstat(fsys, root); err != nil || !fi.IsDir() {
		paths[root] = true
		return nil
	}
	return fs.WalkDir(fsys, root, func(p string, de fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return nil
			}
			*notes = append(*notes, fmt.Sprintf("%s/%s: not read: %v", vol, p, err))
			if de != nil && de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		paths[path.Clean(p)] = true
		return nil
	})
}

// dataInodes returns the inodes of one state, not in hit, of the files
// and directories that have a data extent meeting the changed spans:
// those whose data was written below the filesystem, their inodes
// untouched, which the changed inodes cannot show. Every inode of the
// state is read, so the cost follows the inode tables, not the change; no
// file data is read. An inode that cannot be read is named in the notes
// (up to maxScanNotes) and skipped. The inodes found are added to hit.
func dataInodes(ctx context.Context, vol string, st *inodeState, changed []span, hit map[uint64]bool) ([]uint64, []string, error) {
	if len(changed) == 0 {
		return nil, nil, nil
	}
	var out []uint64
	var notes []string
	bad := 0
	for g := range st.ifs.InodeGroups() {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		inodes, err := st.ifs.GroupInodes(g, false)
		if err != nil {
			if bad++; bad <= maxScanNotes {
				notes = append(notes, fmt.Sprintf("%s: inode group %d not scanned for changed data: %v", vol, g, err))
			}
		}
		for _, n := range inodes {
			if hit[n] {
				continue
			}
			meets, err := st.dataMeets(n, changed)
			if err != nil {
				if bad++; bad <= maxScanNotes {
					notes = append(notes, fmt.Sprintf("%s: inode %d not scanned for changed data: %v", vol, n, err))
				}
				continue
			}
			if meets {
				hit[n] = true
				out = append(out, n)
			}
		}
	}
	if bad > maxScanNotes {
		notes = append(notes, fmt.Sprintf("%s: %d more inodes or groups not scanned for changed data", vol, bad-maxScanNotes))
	}
	return out, notes, nil
}

// dataMeets reports whether the regular file or directory in inode n has
// a data extent in the changed spans.
func (st *inodeState) dataMeets(n uint64, changed []span) (bool, error) {
	i, err := st.inodeInfo(n)
	if err != nil || !i.ok || !(i.fi.Mode().IsRegular() || i.fi.IsDir()) {
		return false, err
	}
	f, err := st.ifs.OpenInode(n)
	if err != nil {
		return false, err
	}
	exts, _, err := f.Extents()
	if err != nil {
		return false, err
	}
	return extentsMeet(exts, changed), nil
}
