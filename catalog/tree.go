package catalog

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ckptfs/ckptfs/vhdx"
)

// diskFile is one opened disk file and its place in the disk forest.
type diskFile struct {
	path     string
	info     FileInfo
	file     File
	disk     *vhdx.Disk
	mtime    time.Time
	parent   *diskFile
	children []*diskFile
	chain    *vhdx.Chain // built on first use, shared by every checkpoint on top of it
	broken   bool        // its chain cannot be resolved (see tolerate.go)
	// chainParent, when set, is the parent the file's chain really has,
	// while parent places it in the checkpoint tree as it was before a
	// merge that is under way (see pending.go).
	chainParent *diskFile
	reparented  bool
	merging     *PendingMerge // a merge under way removes this file
}

// forest holds every disk file of a source, each opened once, linked to
// its parent.
type forest struct {
	opt    Options
	src    Source
	files  []*diskFile
	byPath map[string]*diskFile
	byBase map[string][]*diskFile // lower-case base name
	bySize map[int64][]*diskFile  // to find one file reached by two paths

	// probed remembers the DataWriteGuid of files the parent search
	// opened and closed again (zero: not a disk).
	probed map[string]vhdx.GUID

	folder   bool     // the source is a folder: tolerate broken disks
	warnings []string // what was left out, and why
	firstErr error
}

func newForest(opt Options) *forest {
	return &forest{opt: opt, src: opt.Source, probed: map[string]vhdx.GUID{}, byPath: map[string]*diskFile{}, byBase: map[string][]*diskFile{}, bySize: map[int64][]*diskFile{}}
}

// add opens path unless it is already open.
func (f *forest) add(path string) (*diskFile, error) {
	d, err := f.open(path)
	if err != nil || d == nil || f.byPath[d.path] == d {
		return d, err
	}
	f.index(d)
	return d, nil
}

// open opens path as a disk without indexing it; it returns the file
// already in the forest when path names one (by name or identity).
func (f *forest) open(path string) (*diskFile, error) {
	abs, err := f.src.Abs(path)
	if err != nil {
		return nil, err
	}
	if d := f.byPath[abs]; d != nil {
		return d, nil
	}
	if len(f.files) >= f.opt.MaxFiles {
		return nil, fmt.Errorf("%s: more than %d disk files", path, f.opt.MaxFiles)
	}
	st, err := f.src.Stat(abs)
	if err != nil {
		return nil, err
	}
	if d := f.sameFile(st); d != nil { // a link, or a folder given twice
		return d, nil
	}
	file, err := f.src.Open(abs)
	if err != nil {
		return nil, err
	}
	disk, err := vhdx.NewNamedDiskOptions(abs, file, file.Size(), vhdx.DiskOptions{IgnoreChecksums: f.opt.IgnoreChecksums})
	if err != nil {
		file.Close()
		return nil, err
	}
	if id := file.Identity(); !id.IsZero() {
		st.ID = id // what was opened, should the name have moved since Stat
	}
	return &diskFile{path: abs, info: st, file: file, disk: disk, mtime: st.ModTime.UTC()}, nil
}

func (f *forest) sameFile(st FileInfo) *diskFile {
	if st.ID.IsZero() {
		return nil
	}
	for _, d := range f.bySize[st.Size] {
		if d.info.ID == st.ID {
			return d
		}
	}
	return nil
}

// index files d in the forest's lists and lookups.
func (f *forest) index(d *diskFile) {
	f.bySize[d.info.Size] = append(f.bySize[d.info.Size], d)
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
	return linkageID(loc, parent.DataWriteGUID)
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

// chainNext is the layer below d in its chain: its parent, unless a
// pending merge placed d in the tree under another file (see pending.go).
func (d *diskFile) chainNext() *diskFile {
	if d.reparented {
		return d.chainParent
	}
	return d.parent
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
	for p := d; p != nil; p = p.chainNext() {
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
