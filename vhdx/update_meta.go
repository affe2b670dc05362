package vhdx

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// SetParent makes the file a child of parent, found at parentPath: the
// parent locator is rewritten (linkage to parent's DataWriteGuid, paths
// relative to this file and absolute). It takes effect at Commit. The
// caller vouches that parent reads what the old parent did wherever this
// file defers to it.
func (u *Update) SetParent(parent *Disk, parentPath string) error {
	if !u.p.HasParent {
		return fmt.Errorf("%s: %w: a disk without parent cannot be given one in place", u.name, ErrUnsupported)
	}
	if parent.Format != FormatVHDX {
		return fmt.Errorf("%s: %w: a VHDX differencing disk needs a VHDX parent", u.name, ErrUnsupported)
	}
	if parent.LogicalSectorSize != int64(u.p.LogicalSectorSize) {
		return fmt.Errorf("%s: %w: parent has %d-byte sectors, this disk %d", u.name, ErrUnsupported, parent.LogicalSectorSize, u.p.LogicalSectorSize)
	}
	loc, err := parentLocatorFor(u.name, parentPath, parent)
	if err != nil {
		return err
	}
	return u.rewriteMetadata(loc, true)
}

// ClearParent turns a differencing disk into a dynamic one: the parent
// locator goes, and so do the sector bitmaps. Every block must be fully
// present, ZERO or NOT_PRESENT already (Fill the rest first): a dynamic
// disk reads its NOT_PRESENT blocks as zeros. Takes effect at Commit.
func (u *Update) ClearParent() error {
	if !u.p.HasParent {
		return nil
	}
	for blk := int64(0); blk < u.nblocks; blk++ {
		if u.bat[u.batIndex(blk)]&batStateMask == payloadPartially {
			return fmt.Errorf("%s: %w: block %d still takes sectors from the parent", u.name, ErrHeld, blk)
		}
	}
	for c := int64(0); bitmapIndex(c, u.cr) < int64(len(u.bat)); c++ {
		u.setEntry(bitmapIndex(c, u.cr), 0)
	}
	u.bitmaps, u.bmNew, u.bmDirty = map[int64][]byte{}, map[int64]bool{}, map[int64]map[int64]bool{}
	return u.rewriteMetadata(nil, false)
}

// rewriteMetadata lays the metadata region out anew with the parent
// locator replaced (or dropped) and the HasParent flag set as given;
// every other item keeps its bytes and flags.
func (u *Update) rewriteMetadata(loc []byte, hasParent bool) error {
	table, err := decodeMetadataTable(u.meta, u.metaOff)
	if err != nil {
		return err
	}
	out := make([]byte, len(u.meta))
	pos := int64(metadataTableSz)
	var entries []metadataEntry
	put := func(e metadataEntry, data []byte) error {
		if pos+int64(len(data)) > int64(len(out)) {
			return fmt.Errorf("%s: %w: metadata does not fit its region", u.name, ErrUnsupported)
		}
		e.Offset, e.Length = uint32(pos), uint32(len(data))
		if len(data) == 0 {
			e.Offset = 0
		}
		copy(out[pos:], data)
		pos += roundUp(int64(len(data)), 8)
		entries = append(entries, e)
		return nil
	}
	for _, e := range table {
		if e.ItemID == guidParentLocator {
			continue
		}
		if e.Length > 0 && (e.Offset < metadataTableSz || int64(e.Offset)+int64(e.Length) > int64(len(u.meta))) {
			return formatErr(u.metaOff, "metadata item %s lies outside the region", e.ItemID)
		}
		data := append([]byte(nil), u.meta[e.Offset:int64(e.Offset)+int64(e.Length)]...)
		if e.ItemID == guidFileParameters && len(data) >= 8 {
			flags := binary.LittleEndian.Uint32(data[4:]) &^ 2
			if hasParent {
				flags |= 2
			}
			binary.LittleEndian.PutUint32(data[4:], flags)
		}
		if err := put(e, data); err != nil {
			return err
		}
	}
	if loc != nil {
		if err := put(metadataEntry{ItemID: guidParentLocator, IsRequired: true}, loc); err != nil {
			return err
		}
	}
	copy(out, encodeMetadataTable(entries))
	u.meta = out
	u.p.HasParent = hasParent
	return nil
}

// metaPages lists the 4 KiB pages of the metadata region that differ
// from the file.
func (u *Update) metaPages() []int64 {
	var pgs []int64
	for pg := int64(0); pg*logPage < int64(len(u.meta)); pg++ {
		a, b := u.meta[pg*logPage:min((pg+1)*logPage, int64(len(u.meta)))], u.metaOrig[pg*logPage:min((pg+1)*logPage, int64(len(u.meta)))]
		if !bytes.Equal(a, b) {
			pgs = append(pgs, pg)
		}
	}
	return pgs
}
