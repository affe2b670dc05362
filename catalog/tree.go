package catalog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ckptfs/ckptfs/vhdx"
)

// diskFile is one opened disk file and its place in the disk forest.
type diskFile struct {
	path     string
	info     os.FileInfo
	disk     *vhdx.Disk
	mtime    time.Time
	parent   *diskFile
	children []*diskFile
	chain    *vhdx.Chain // built on first use, shared by every checkpoint on top of it
	broken   bool        // its chain cannot be resolved (see tolerate.go)
}

// forest holds every disk file of a source, each opened once, linked to
// its parent.
type forest struct {
	opt    Options
	files  []*diskFile
	byPath map[string]*diskFile
	byBase map[string][]*diskFile // lower-case base name
	bySize map[int64][]*diskFile  // to find one file reached by two paths

	folder   bool     // the source is a folder: tolerate broken disks
	warnings []string // what was left out, and why
	firstErr error
}

func newForest(opt Options) *forest {
	return &forest{opt: opt, byPath: map[string]*diskFile{}, byBase: map[string][]*diskFile{}, bySize: map[int64][]*diskFile{}}
}

// add opens path unless it is already open.
func (f *forest) add(path string) (*diskFile, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if d := f.byPath[abs]; d != nil {
		return d, nil
	}
	if len(f.files) >= f.opt.MaxFiles {
		return nil, fmt.Errorf("%s: more than %d disk files", path, f.opt.MaxFiles)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	for _, d := range f.bySize[st.Size()] {
		if os.SameFile(d.info, st) { // a link, or a folder given twice
			return d, nil
		}
	}
	disk, err := vhdx.OpenDisk(abs)
	if err != nil {
		return nil, err
	}
	d := &diskFile{path: abs, info: st, disk: disk, mtime: st.ModTime().UTC()}
	f.index(d)
	return d, nil
}

// index files d in the forest's lists and lookups.
func (f *forest) index(d *diskFile) {
	f.bySize[d.info.Size()] = append(f.bySize[d.info.Size()], d)
	f.files = append(f.files, d)
	f.byPath[d.path] = d
	b := strings.ToLower(filepath.Base(d.path))
	f.byBase[b] = append(f.byBase[b], d)
}

// link finds the parent of every differencing disk, opening parents that
// lie outside the scanned files (a single disk given, or a locator
// pointing out of the folder), then refuses loops.
func (f *forest) link() error {
	for i := 0; i < len(f.files); i++ { // f.files grows as parents are opened
		d := f.files[i]
		if d.disk.Type != vhdx.TypeDifferencing || d.disk.Parent == nil {
			continue
		}
		p, err := f.findParent(d)
		if err == nil {
			err = f.checkLinkage(d, p)
		}
		if err != nil {
			if err := f.tolerate(d, d.path, err); err != nil {
				return err
			}
			continue
		}
		d.parent = p
		p.children = append(p.children, d)
	}
	if err := f.checkLoops(); err != nil {
		return err
	}
	return f.prune()
}

// findParent follows the parent locator: the relative path first, then
// the locator's file names among the files already open (nearest folder
// first), then those names next to the child. Absolute paths are never
// opened as written: they name the Windows host's folders.
func (f *forest) findParent(d *diskFile) (*diskFile, error) {
	loc := d.disk.Parent
	dir := filepath.Dir(d.path)
	if loc.RelativePath != "" {
		rel := filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(loc.RelativePath, `\`, "/")))
		if p := f.byPath[rel]; p != nil {
			return p, nil
		}
		if st, err := os.Stat(rel); err == nil && st.Mode().IsRegular() {
			return f.add(rel)
		}
	}
	var names []string
	for _, s := range []string{loc.RelativePath, loc.AbsolutePath, loc.VolumePath, loc.ParentName} {
		if b := winBase(s); b != "" && b != "." && b != ".." {
			names = append(names, b)
		}
	}
	for _, name := range names {
		if p := f.nearest(d, f.byBase[strings.ToLower(name)]); p != nil {
			return p, nil
		}
	}
	for _, name := range names {
		cand := filepath.Join(dir, name)
		if st, err := os.Stat(cand); err == nil && st.Mode().IsRegular() && cand != d.path {
			return f.add(cand)
		}
	}
	want := loc.RelativePath
	if want == "" {
		want = firstNonEmpty(loc.AbsolutePath, loc.VolumePath, loc.ParentName, "(no path in locator)")
	}
	return nil, fmt.Errorf("%w: %s: parent %s not found", vhdx.ErrParent, d.path, want)
}

// nearest picks among same-named files: one whose identity matches the
// child's linkage, nearest folder first.
func (f *forest) nearest(d *diskFile, cands []*diskFile) *diskFile {
	var best *diskFile
	bestScore := -1
	for _, c := range cands {
		if c == d {
			continue
		}
		score := commonPrefix(filepath.Dir(c.path), filepath.Dir(d.path))
		if linkageOK(d.disk.Parent, c.disk) {
			score += 1 << 20
		}
		if score > bestScore {
			best, bestScore = c, score
		}
	}
	return best
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func linkageOK(loc *vhdx.ParentLocator, parent *vhdx.Disk) bool {
	return loc.Linkage == parent.DataWriteGUID ||
		!loc.Linkage2.IsZero() && loc.Linkage2 == parent.DataWriteGUID
}

func (f *forest) checkLinkage(d, p *diskFile) error {
	if f.opt.IgnoreLinkage || linkageOK(d.disk.Parent, p.disk) {
		return nil
	}
	return fmt.Errorf("%w: %s names parent %s by linkage %s, but that file's DataWriteGuid is %s (it changed after the child was made)",
		vhdx.ErrParent, d.path, p.path, d.disk.Parent.Linkage, p.disk.DataWriteGUID)
}

// checkLoops refuses a parent chain that comes back on itself or is
// deeper than MaxDepth.
func (f *forest) checkLoops() error {
	for _, d := range f.files {
		seen := map[*diskFile]bool{}
		for p := d; p != nil; p = p.parent {
			var err error
			switch {
			case seen[p]:
				err = fmt.Errorf("%w: %s: parent chain loops back to %s", vhdx.ErrParent, d.path, p.path)
			case len(seen) >= f.opt.MaxDepth:
				err = fmt.Errorf("%w: %s: chain deeper than %d", vhdx.ErrParent, d.path, f.opt.MaxDepth)
			}
			if err != nil {
				if err := f.tolerate(d, d.path, err); err != nil {
					return err
				}
				break
			}
			seen[p] = true
		}
	}
	return nil
}

// roots returns the base disks in the order their files were found.
func (f *forest) roots() []*diskFile {
	var r []*diskFile
	for _, d := range f.files {
		if d.parent == nil {
			r = append(r, d)
		}
	}
	return r
}

// root returns the base disk of d's tree.
func (d *diskFile) root() *diskFile {
	for d.parent != nil {
		d = d.parent
	}
	return d
}

// chainOf returns the chain whose top is d, building it once.
func (f *forest) chainOf(d *diskFile) (*vhdx.Chain, error) {
	if d.chain != nil {
		return d.chain, nil
	}
	var layers []*vhdx.Disk
	for p := d; p != nil; p = p.parent {
		layers = append(layers, p.disk)
	}
	c, err := vhdx.NewChain(layers, vhdx.ChainOptions{IgnoreLinkage: f.opt.IgnoreLinkage, MaxDepth: f.opt.MaxDepth})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.path, err)
	}
	d.chain = c
	return c, nil
}

// closeAll closes every opened file once.
func (f *forest) closeAll() error {
	var errs []error
	for _, d := range f.files {
		errs = append(errs, d.disk.Close())
	}
	return errors.Join(errs...)
}
