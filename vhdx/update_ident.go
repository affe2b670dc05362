package vhdx

import (
	"fmt"
	"sort"
)

// DataWriteGUID returns the file's DataWriteGuid, the identity its
// children's parent_linkage names.
func (u *Update) DataWriteGUID() GUID { return u.h.DataWriteGUID }

// SetDataWriteGUID gives the file another identity: children made from
// the file whose DataWriteGuid is g will accept it as their parent. The
// headers are written at once (the first header write is the atomic
// step); pending changes must be committed first. It is how a merge lets
// a parent take over the place of the child folded into it; the caller
// vouches that the file then reads what that child read.
func (u *Update) SetDataWriteGUID(g GUID) error {
	if u.Pending() > 0 || len(u.bmNew) > 0 {
		return fmt.Errorf("%s: commit the pending changes before changing the DataWriteGuid", u.name)
	}
	if u.h.DataWriteGUID == g {
		return nil
	}
	if err := u.f.Sync(); err != nil {
		return fmt.Errorf("%s: sync: %w", u.name, err)
	}
	if !u.newFWG {
		u.h.FileWriteGUID, u.newFWG = NewGUID(), true
	}
	u.h.DataWriteGUID = g
	return u.writeHeaders("identity")
}

// SetDiskID sets the VirtualDiskId metadata item (the disk's identity
// inside a guest's view, shared along a chain). It takes effect at Commit.
func (u *Update) SetDiskID(g GUID) error {
	table, err := decodeMetadataTable(u.meta, u.metaOff)
	if err != nil {
		return err
	}
	for _, e := range table {
		if e.ItemID != guidVirtualDiskID {
			continue
		}
		if e.Length < 16 || int64(e.Offset)+16 > int64(len(u.meta)) || e.Offset < metadataTableSz {
			return formatErr(u.metaOff, "virtual disk id item at %d+%d lies outside the region", e.Offset, e.Length)
		}
		copy(u.meta[e.Offset:], g[:])
		return nil
	}
	return formatErr(u.metaOff, "no virtual disk id item")
}

// locatorOrder is the order keys are written back in; others follow sorted.
var locatorOrder = []string{"parent_linkage", "parent_linkage2", "relative_path", "volume_path", "absolute_win32_path"}

// SetLinkage2 adds (or replaces) parent_linkage2 in the parent locator,
// keeping every other key: the file then also accepts a parent whose
// DataWriteGuid is g. A merge uses it so the child keeps reading through
// the parent while the parent takes the child's identity. It takes
// effect at Commit.
func (u *Update) SetLinkage2(g GUID) error {
	if !u.p.HasParent {
		return fmt.Errorf("%s: %w: a disk without parent has no parent locator", u.name, ErrUnsupported)
	}
	table, err := decodeMetadataTable(u.meta, u.metaOff)
	if err != nil {
		return err
	}
	var loc *ParentLocator
	for _, e := range table {
		if e.ItemID != guidParentLocator {
			continue
		}
		if e.Offset < metadataTableSz || int64(e.Offset)+int64(e.Length) > int64(len(u.meta)) {
			return formatErr(u.metaOff, "parent locator lies outside the metadata region")
		}
		if loc, err = decodeParentLocator(u.meta[e.Offset:int64(e.Offset)+int64(e.Length)], u.metaOff+int64(e.Offset)); err != nil {
			return err
		}
	}
	if loc == nil {
		return formatErr(u.metaOff, "differencing disk without a parent locator")
	}
	loc.Entries["parent_linkage2"] = linkageText(g)
	var kv [][2]string
	seen := map[string]bool{}
	for _, k := range locatorOrder {
		if v, ok := loc.Entries[k]; ok {
			kv, seen[k] = append(kv, [2]string{k, v}), true
		}
	}
	var rest []string
	for k := range loc.Entries {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		kv = append(kv, [2]string{k, loc.Entries[k]})
	}
	return u.rewriteMetadata(encodeParentLocator(kv), true)
}
