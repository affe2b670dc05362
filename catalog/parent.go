package catalog

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ckptfs/ckptfs/vhdx"
)

// Parents are looked for in this order, the first that exists winning:
//
//  1. the locator's relative path, from the child's folder;
//  2. the locator's file names (relative, absolute, volume path, VHD
//     parent name) among the disks already open, nearest folder first and
//     a file whose identity matches the child's linkage before others;
//  3. those names in the child's folder;
//  4. when none of these exists, or the one found is not the parent the
//     child was made from (its DataWriteGuid is not the child's linkage):
//     a disk whose DataWriteGuid the linkage names, among the disks
//     already open, then in the folders searched (the child's folder and
//     the folders of the disks open), files with a disk extension first,
//     then any file whose bytes are a VHDX or VHD (see sniff.go).
//     Forensic copies are often renamed; the linkage still names the
//     parent. A warning says which file was taken.
//
// A candidate from steps 1-3 whose identity does not match is an error
// (wrapping vhdx.ErrParent, naming both files) unless step 4 finds the
// right file or Options.IgnoreLinkage accepts it. Absolute paths are never
// opened as written: they name the Windows host's folders.
func (f *forest) findParent(d *diskFile) (*diskFile, error) {
	p, err := f.byLocator(d)
	if err != nil {
		return nil, err
	}
	if p != nil && (f.opt.IgnoreLinkage || linkageOK(d.disk.Parent, p.disk)) {
		return f.keep(p), nil
	}
	// p, if any, is not the parent: a file opened only to look at it is
	// closed again, or a single disk given would show it as a VM.
	var errMismatch error
	if p != nil {
		errMismatch = fmt.Errorf("%w: %s names parent %s by linkage %s, but that file's DataWriteGuid is %s (it changed after the child was made)",
			vhdx.ErrParent, d.path, p.path, d.disk.Parent.Linkage, p.disk.DataWriteGUID)
		f.drop(p)
	}
	q, err := f.byIdentity(d)
	if err != nil {
		return nil, err
	}
	if q != nil {
		f.warnings = append(f.warnings, fmt.Sprintf("%s: parent %s %s; using %s, whose DataWriteGuid %s is the child's parent linkage",
			d.path, locatorName(d.disk.Parent), why(p), q.path, q.disk.DataWriteGUID))
		return q, nil
	}
	if errMismatch != nil {
		return nil, errMismatch
	}
	return nil, fmt.Errorf("%w: %s: parent %s not found (no file by that name, and none with DataWriteGuid %s in %s)",
		vhdx.ErrParent, d.path, locatorName(d.disk.Parent), d.disk.Parent.Linkage, strings.Join(f.searchDirs(d), ", "))
}

// keep indexes p when it was opened by the search.
func (f *forest) keep(p *diskFile) *diskFile {
	if f.byPath[p.path] != p {
		f.index(p)
	}
	return p
}

// drop closes p when the search opened it and does not keep it.
func (f *forest) drop(p *diskFile) {
	if f.byPath[p.path] != p {
		p.disk.Close()
	}
}

func why(p *diskFile) string {
	if p == nil {
		return "is not where its locator says"
	}
	return "found at " + p.path + " is another disk"
}

// locatorName is the parent's path as the locator gives it, for messages.
func locatorName(loc *vhdx.ParentLocator) string {
	return firstNonEmpty(loc.RelativePath, loc.AbsolutePath, loc.VolumePath, loc.ParentName, "(no path in locator)")
}

// byLocator applies steps 1-3; nil without error when nothing exists.
// A file it opens is not indexed yet (see keep and drop).
func (f *forest) byLocator(d *diskFile) (*diskFile, error) {
	rel, names := d.disk.Parent.Hints()
	dir := f.src.Dir(d.path)
	if rel != "" {
		cand := f.src.Join(dir, rel)
		if p := f.byPath[cand]; p != nil {
			return p, nil
		}
		if st, err := f.src.Stat(cand); err == nil && st.Usable {
			return f.open(cand)
		}
	}
	for _, name := range names {
		if p := f.nearest(d, f.byBase[strings.ToLower(name)]); p != nil {
			return p, nil
		}
	}
	for _, name := range names {
		cand := f.src.Join(dir, name)
		if st, err := f.src.Stat(cand); err == nil && st.Usable && cand != d.path {
			return f.open(cand)
		}
	}
	return nil, nil
}

// byIdentity applies step 4: the disk whose DataWriteGuid the child's
// linkage names, nearest folder first. Disks opened to look at and found
// to be others are closed again.
func (f *forest) byIdentity(d *diskFile) (*diskFile, error) {
	if p := f.nearestByID(d, f.files); p != nil {
		return p, nil
	}
	var found []*diskFile
	var others []string // renamed without a disk extension: looked at last
	for _, dir := range f.searchDirs(d) {
		ents, err := f.src.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.IsDir || !e.Usable || f.byPath[e.Name] != nil || f.sameFile(e) != nil {
				continue
			}
			if !isDiskFile(e.Name) {
				others = append(others, e.Name)
				continue
			}
			found = f.tryParent(d, e, found)
		}
	}
	if len(found) == 0 {
		for i, name := range others {
			if i >= f.opt.MaxFiles {
				break
			}
			if _, seen := f.probed[name]; seen || looksLikeDisk(f.src, name) {
				found = f.tryParent(d, FileInfo{Name: name}, found)
			}
		}
	}
	p := f.nearestByID(d, found)
	for _, c := range found {
		if c != p {
			c.disk.Close()
		}
	}
	if p == nil {
		return nil, nil
	}
	return f.keep(p), nil
}

// tryParent opens e and adds it to found when its DataWriteGuid is d's
// parent linkage; other files are closed again. What a file is (its
// identity, or not a disk) is remembered, so that a folder of many
// orphaned children opens each candidate once, not once per child.
func (f *forest) tryParent(d *diskFile, e FileInfo, found []*diskFile) []*diskFile {
	if id, seen := f.probed[e.Name]; seen && (id.IsZero() || !linkageID(d.disk.Parent, id)) {
		return found
	}
	c, err := f.open(e.Name)
	if err != nil {
		f.probed[e.Name] = vhdx.GUID{} // not a disk: no candidate
		return found
	}
	f.probed[e.Name] = c.disk.DataWriteGUID
	if linkageOK(d.disk.Parent, c.disk) {
		return append(found, c)
	}
	c.disk.Close()
	return found
}

func linkageID(loc *vhdx.ParentLocator, id vhdx.GUID) bool {
	return loc.Linkage == id || !loc.Linkage2.IsZero() && loc.Linkage2 == id
}

// nearestByID picks, among cands, a disk the child's linkage names,
// nearest to the child's folder, then by name.
func (f *forest) nearestByID(d *diskFile, cands []*diskFile) *diskFile {
	var best *diskFile
	bestScore := -1
	for _, c := range cands {
		if c == d || !linkageOK(d.disk.Parent, c.disk) {
			continue
		}
		score := commonPrefix(filepath.Dir(c.path), filepath.Dir(d.path))
		if score > bestScore || score == bestScore && c.path < best.path {
			best, bestScore = c, score
		}
	}
	return best
}

// searchDirs are the folders looked through for a renamed parent: the
// child's own, then those of every disk open, each once, sorted.
func (f *forest) searchDirs(d *diskFile) []string {
	seen := map[string]bool{}
	out := []string{f.src.Dir(d.path)}
	seen[out[0]] = true
	var more []string
	for _, o := range f.files {
		if dir := f.src.Dir(o.path); !seen[dir] {
			seen[dir] = true
			more = append(more, dir)
		}
	}
	sort.Strings(more)
	return append(out, more...)
}
