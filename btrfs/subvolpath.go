package btrfs

import (
	"fmt"
	"slices"
	"strings"
)

// Bounds of SubvolumePath's walk up the tree: a hostile image may link
// subvolumes or directories in a circle.
const (
	maxSubvolDepth = 64  // subvolumes nested in subvolumes
	maxDirDepth    = 256 // directories between a subvolume and its parent's root
)

// SubvolumePath returns where subvolume id lies below the top level, as
// `btrfs subvolume list` prints it and /etc/fstab names it with subvol=
// ("root", "@/.snapshots/1/snapshot"); "" for the top level (5). It
// follows the subvolume's back reference to its parent and the directory
// names up to the parent's root, then the parent's own, and so on.
func (v *Volume) SubvolumePath(id uint64) (string, error) {
	var names []string
	for range maxSubvolDepth {
		if id == fsTreeID {
			slices.Reverse(names)
			return strings.Join(names, "/"), nil
		}
		parent, ref, err := v.rootBackref(id)
		if err != nil {
			return "", err
		}
		names = append(names, string(ref.name))
		dirs, err := v.dirNames(parent, ref.dirID)
		if err != nil {
			return "", err
		}
		names = append(names, dirs...)
		id = parent
	}
	return "", kindErr(ErrLoop, -1, "subvolume %d nested more than %d deep", id, maxSubvolDepth)
}

// rootBackref finds the first ROOT_BACKREF of subvolume id: its parent
// subvolume and the name and directory it is linked under there.
func (v *Volume) rootBackref(id uint64) (parent uint64, ref rootRef, err error) {
	found := false
	err = v.walk(v.root, key{id, typRootBackref, 0}, key{id, typRootBackref, ^uint64(0)}, func(k key, d []byte) error {
		r, ok := parseRootRef(d)
		if !ok {
			return formatErr(-1, "root back reference of subvolume %d is %d bytes", id, len(d))
		}
		parent, ref, found = k.offset, r, true
		return errStop
	})
	if err != nil {
		return 0, rootRef{}, err
	}
	if !found {
		return 0, rootRef{}, fmt.Errorf("subvolume %d: %w", id, errNotLinked)
	}
	if parent == id {
		return 0, rootRef{}, kindErr(ErrLoop, -1, "subvolume %d is its own parent", id)
	}
	return parent, ref, nil
}

// errNotLinked: a subvolume without a back reference (deleted, or the
// top level's own tree).
var errNotLinked = fmt.Errorf("not linked in any subvolume: %w", ErrFormat)

// dirNames returns the names of the directories from dir up to the root
// of subvolume sv, innermost first (none when dir is the root).
func (v *Volume) dirNames(sv, dir uint64) ([]string, error) {
	s, err := v.subvol(sv)
	if err != nil {
		return nil, err
	}
	var names []string
	for range maxDirDepth {
		if dir == s.dirID {
			return names, nil
		}
		var up uint64
		var name []byte
		err := v.walk(s.tree, key{dir, typInodeRef, 0}, key{dir, typInodeRef, ^uint64(0)}, func(k key, d []byte) error {
			if refs := parseRefs(d); len(refs) > 0 {
				up, name = k.offset, refs[0].name
				return errStop
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if name == nil || up == dir {
			return nil, formatErr(-1, "subvolume %d: directory %d has no parent", sv, dir)
		}
		names = append(names, string(name))
		dir = up
	}
	return nil, kindErr(ErrLoop, -1, "subvolume %d: directories nested more than %d deep", sv, maxDirDepth)
}
