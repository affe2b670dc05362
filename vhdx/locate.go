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

// ParentCandidates lists the paths where child's parent may be, in the
// order they should be tried: the relative locator path next to the child,
// then the file names of the absolute paths next to the child, then the
// same names in searchDirs. Only existing files are returned.
func ParentCandidates(child *Disk, searchDirs []string) []string {
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
	loc := child.Parent
	if rel := winPath(loc.RelativePath); rel != "" && !filepath.IsAbs(rel) {
		add(filepath.Join(dir, rel))
	}
	names := baseNames(loc.RelativePath, loc.AbsolutePath, loc.VolumePath, loc.ParentName)
	for _, n := range names {
		add(filepath.Join(dir, n))
	}
	for _, sd := range searchDirs {
		for _, n := range names {
			add(filepath.Join(sd, n))
		}
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
	for _, p := range paths {
		p = winPath(p)
		if i := strings.LastIndex(p, "/"); i >= 0 {
			p = p[i+1:]
		}
		if p != "" && p != "." && p != ".." {
			out = append(out, p)
		}
	}
	return out
}

// OpenChain opens a disk file and every parent it names, verifying each
// link. The chain owns the files: Close closes them.
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
	cands := ParentCandidates(child, opt.SearchDirs)
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
