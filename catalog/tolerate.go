package catalog

import "fmt"

// A folder of VMs is read as far as it can be: a disk file that cannot be
// opened, or whose chain cannot be resolved (parent missing, mismatched,
// looping), is left out with a warning together with every disk built on
// it, so one damaged checkpoint in a backup of twenty VMs does not hide
// the other nineteen. A single disk file given as the source is still
// all-or-nothing, and so is a folder where nothing is usable.

// tolerate records err against d (nil: a file that never opened) when
// the source is a folder; it returns err unchanged otherwise.
func (f *forest) tolerate(d *diskFile, path string, err error) error {
	if !f.folder {
		return err
	}
	if f.firstErr == nil {
		f.firstErr = err
	}
	f.warnings = append(f.warnings, fmt.Sprintf("left out %s: %v", path, err))
	if d != nil {
		d.broken = true
	}
	return nil
}

// prune removes the broken disks and every disk whose chain passes
// through one, closing their files. It fails with the first error when
// nothing usable remains.
func (f *forest) prune() error {
	if f.firstErr == nil {
		return nil
	}
	unusable := func(d *diskFile) bool {
		seen := 0
		for p := d; p != nil && seen <= len(f.files); p = p.parent {
			if p.broken {
				return true
			}
			seen++
		}
		return false
	}
	var keep, drop []*diskFile
	for _, d := range f.files {
		if unusable(d) {
			drop = append(drop, d)
		} else {
			keep = append(keep, d)
		}
	}
	for _, d := range drop {
		if !d.broken {
			f.warnings = append(f.warnings, fmt.Sprintf("left out %s: its parent chain is unusable", d.path))
		}
		d.disk.Close()
	}
	f.files = nil
	f.byPath, f.byBase, f.bySize = map[string]*diskFile{}, map[string][]*diskFile{}, map[int64][]*diskFile{}
	for _, d := range keep {
		var children []*diskFile
		for _, c := range d.children {
			if !unusable(c) {
				children = append(children, c)
			}
		}
		d.children = children
		f.index(d)
	}
	if len(f.files) == 0 {
		return f.firstErr
	}
	return nil
}
