package vhdx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CheckLinkage verifies that parent is the disk child was made from: a
// VHDX child's parent_linkage (or parent_linkage2) must equal the parent's
// DataWriteGUID, a VHD child's parent id the parent's unique id. A mismatch
// wraps ErrParent and names both files.
func CheckLinkage(child, parent *Disk) error {
	if child.Parent == nil {
		return fmt.Errorf("%w: %s is not a differencing disk", ErrParent, child.Name)
	}
	if child.Format != parent.Format {
		// [MS-VHDX] defines only VHDX parents for VHDX children, and a VHD
		// parent locator cannot name a VHDX file's identity.
		return fmt.Errorf("%w: %s (%s) cannot have the %s parent %s", ErrUnsupported, child.Name, child.Format, parent.Format, parent.Name)
	}
	if child.Parent.Linkage == parent.DataWriteGUID ||
		(!child.Parent.Linkage2.IsZero() && child.Parent.Linkage2 == parent.DataWriteGUID) {
		return nil
	}
	return fmt.Errorf("%w: %s expects a parent with id %s, but %s has %s (modified after the child was made, or the wrong file)",
		ErrParent, child.Name, child.Parent.Linkage, parent.Name, parent.DataWriteGUID)
}

// Hints says where the locator puts the parent: relative is its relative
// path with "/" separators ("" when there is none, or it is absolute), and
// names are the file names of every path entry (relative, absolute,
// volume, VHD parent name) in the order they should be tried. The absolute
// paths name the Windows host's folders, so only their file names are of
// use on another machine. Package catalog searches a source with these
// hints; OpenChain looks only next to the child.
func (l *ParentLocator) Hints() (relative string, names []string) {
	if rel := winPath(l.RelativePath); rel != "" && !strings.HasPrefix(rel, "/") && !hasDrive(rel) {
		relative = rel
	}
	return relative, baseNames(l.RelativePath, l.AbsolutePath, l.VolumePath, l.ParentName)
}

func hasDrive(p string) bool { return len(p) >= 2 && p[1] == ':' }

// parentCandidates lists the existing files where child's parent may be:
// the relative locator path, then the locator's file names, next to the
// child.
func parentCandidates(child *Disk) []string {
	if child.Parent == nil {
		return nil
	}
	dir := filepath.Dir(child.Name)
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		p = filepath.Clean(p)
		if seen[p] {
			return
		}
		seen[p] = true
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	rel, names := child.Parent.Hints()
	if rel != "" {
		add(filepath.Join(dir, filepath.FromSlash(rel)))
	}
	for _, n := range names {
		add(filepath.Join(dir, n))
	}
	return out
}

// winPath turns a Windows path into a slash path, dropping a leading ".\".
func winPath(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	return strings.TrimPrefix(p, "./")
}

func baseNames(paths ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		p = winPath(p)
		if i := strings.LastIndex(p, "/"); i >= 0 {
			p = p[i+1:]
		}
		if p != "" && p != "." && p != ".." && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// OpenChain opens a disk file and every parent its locator names next to
// it (the relative path, then the locator's file names in the child's
// folder), verifying each link. The chain owns the files: Close closes
// them. ckptfs itself opens chains through package catalog, which owns the
// wider search (other folders, parents renamed since).
func OpenChain(name string, opt ChainOptions) (*Chain, error) {
	top, err := OpenDisk(name)
	if err != nil {
		return nil, err
	}
	layers := []*Disk{top}
	closeAll := func() {
		for _, d := range layers {
			d.Close()
		}
	}
	depth := opt.MaxDepth
	if depth <= 0 {
		depth = defaultMaxDepth
	}
	for cur := top; cur.Type == TypeDifferencing; {
		if len(layers) >= depth {
			closeAll()
			return nil, fmt.Errorf("%w: chain from %s is deeper than %d layers", ErrParent, name, depth)
		}
		parent, err := openParent(cur, layers, opt)
		if err != nil {
			closeAll()
			return nil, err
		}
		layers = append(layers, parent)
		cur = parent
	}
	c, err := NewChain(layers, opt)
	if err != nil {
		closeAll()
		return nil, err
	}
	c.owned = true
	return c, nil
}

// openParent finds, opens and verifies child's parent.
func openParent(child *Disk, below []*Disk, opt ChainOptions) (*Disk, error) {
	cands := parentCandidates(child)
	var mismatch error
	var fallback *Disk
	for _, p := range cands {
		if sameFileAsAny(p, below) {
			return nil, fmt.Errorf("%w: %s names %s as its parent, which is already in its chain (loop)", ErrParent, child.Name, p)
		}
		d, err := OpenDisk(p)
		if err != nil {
			if mismatch == nil {
				mismatch = err
			}
			continue
		}
		err = CheckLinkage(child, d)
		if err == nil {
			if fallback != nil {
				fallback.Close()
			}
			return d, nil
		}
		if mismatch == nil || errors.Is(mismatch, ErrFormat) {
			mismatch = err
		}
		if opt.IgnoreLinkage && errors.Is(err, ErrParent) && fallback == nil {
			fallback = d
			continue
		}
		d.Close()
	}
	if fallback != nil {
		return fallback, nil
	}
	if mismatch != nil {
		return nil, mismatch
	}
	loc := child.Parent
	return nil, fmt.Errorf("%w: parent of %s not found (locator: relative %q, absolute %q)", ErrParent, child.Name, loc.RelativePath, loc.AbsolutePath)
}

func sameFileAsAny(p string, ds []*Disk) bool {
	st, err := os.Stat(p)
	if err != nil {
		return false
	}
	for _, d := range ds {
		if d.Name == "" {
			continue
		}
		if dst, err := os.Stat(d.Name); err == nil && os.SameFile(st, dst) {
			return true
		}
	}
	return false
}
