package vhdx

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// metadataEntry is one row of the metadata table ([MS-VHDX] 2.6.1.2).
type metadataEntry struct {
	ItemID        GUID
	Offset        uint32 // from the start of the metadata region
	Length        uint32
	IsUser        bool
	IsVirtualDisk bool
	IsRequired    bool
}

const maxMetadataEntries = 2047

func decodeMetadataTable(b []byte, off int64) ([]metadataEntry, error) {
	if len(b) < metadataTableSz || string(b[0:8]) != "metadata" {
		return nil, formatErr(off, "no metadata table signature")
	}
	n := binary.LittleEndian.Uint16(b[10:])
	if n > maxMetadataEntries {
		return nil, formatErr(off+10, "metadata table claims %d entries (at most %d)", n, maxMetadataEntries)
	}
	es := make([]metadataEntry, n)
	for i := range es {
		e := b[32+32*i:]
		flags := binary.LittleEndian.Uint32(e[24:])
		es[i] = metadataEntry{
			ItemID:        getGUID(e),
			Offset:        binary.LittleEndian.Uint32(e[16:]),
			Length:        binary.LittleEndian.Uint32(e[20:]),
			IsUser:        flags&1 != 0,
			IsVirtualDisk: flags&2 != 0,
			IsRequired:    flags&4 != 0,
		}
	}
	return es, nil
}

func encodeMetadataTable(es []metadataEntry) []byte {
	b := make([]byte, metadataTableSz)
	copy(b, "metadata")
	binary.LittleEndian.PutUint16(b[10:], uint16(len(es)))
	for i, m := range es {
		e := b[32+32*i:]
		copy(e, m.ItemID[:])
		binary.LittleEndian.PutUint32(e[16:], m.Offset)
		binary.LittleEndian.PutUint32(e[20:], m.Length)
		var flags uint32
		if m.IsUser {
			flags |= 1
		}
		if m.IsVirtualDisk {
			flags |= 2
		}
		if m.IsRequired {
			flags |= 4
		}
		binary.LittleEndian.PutUint32(e[24:], flags)
	}
	return b
}

// diskParams are the metadata items a reader needs.
type diskParams struct {
	BlockSize           uint32
	LeaveBlockAllocated bool
	HasParent           bool
	VirtualSize         uint64
	DiskID              GUID
	HasDiskID           bool // the Page 83 Data item is present
	LogicalSectorSize   uint32
	PhysicalSectorSize  uint32
	Parent              *ParentLocator
}

// readMetadata reads the metadata region's table and known items.
func readMetadata(r io.ReaderAt, size int64, region regionEntry) (diskParams, error) {
	var p diskParams
	base := int64(region.Offset)
	table := make([]byte, metadataTableSz)
	if err := readFull(r, table, base, size, "metadata table"); err != nil {
		return p, err
	}
	es, err := decodeMetadataTable(table, base)
	if err != nil {
		return p, err
	}
	seen := map[GUID]bool{}
	for i, e := range es {
		at := base + 32 + 32*int64(i)
		if seen[e.ItemID] {
			return p, formatErr(at, "metadata item %s appears twice", e.ItemID)
		}
		seen[e.ItemID] = true
		if e.Length == 0 {
			continue
		}
		if e.Offset < metadataTableSz || uint64(e.Offset)+uint64(e.Length) > uint64(region.Length) {
			return p, formatErr(at, "metadata item %s at 0x%x length %d lies outside the metadata region", e.ItemID, e.Offset, e.Length)
		}
		item := make([]byte, e.Length) // bounded by the region length checked against the file
		if err := readFull(r, item, base+int64(e.Offset), size, "metadata item"); err != nil {
			return p, err
		}
		if err := p.decodeItem(e, item, base+int64(e.Offset)); err != nil {
			return p, err
		}
	}
	return p, p.validate(base)
}

func (p *diskParams) decodeItem(e metadataEntry, b []byte, off int64) error {
	need := func(n int) error {
		if len(b) < n {
			return formatErr(off, "metadata item %s is %d bytes, needs %d", e.ItemID, len(b), n)
		}
		return nil
	}
	switch e.ItemID {
	case guidFileParameters:
		if err := need(8); err != nil {
			return err
		}
		p.BlockSize = binary.LittleEndian.Uint32(b)
		flags := binary.LittleEndian.Uint32(b[4:])
		p.LeaveBlockAllocated = flags&1 != 0
		p.HasParent = flags&2 != 0
	case guidVirtualDiskSize:
		if err := need(8); err != nil {
			return err
		}
		p.VirtualSize = binary.LittleEndian.Uint64(b)
	case guidVirtualDiskID:
		if err := need(16); err != nil {
			return err
		}
		p.DiskID = getGUID(b)
		p.HasDiskID = true
	case guidLogicalSectorSize:
		if err := need(4); err != nil {
			return err
		}
		p.LogicalSectorSize = binary.LittleEndian.Uint32(b)
	case guidPhysicalSectorSize:
		if err := need(4); err != nil {
			return err
		}
		p.PhysicalSectorSize = binary.LittleEndian.Uint32(b)
	case guidParentLocator:
		loc, err := decodeParentLocator(b, off)
		if err != nil {
			return err
		}
		p.Parent = loc
	default:
		if e.IsRequired {
			return unsupportedErr(off, "required metadata item %s is unknown", e.ItemID)
		}
	}
	return nil
}

func (p *diskParams) validate(off int64) error {
	switch {
	case p.BlockSize < minBlockSize || p.BlockSize > maxBlockSize || p.BlockSize&(p.BlockSize-1) != 0:
		return formatErr(off, "block size %d is not a power of two from 1 MiB to 256 MiB", p.BlockSize)
	case p.LogicalSectorSize != 512 && p.LogicalSectorSize != 4096:
		return formatErr(off, "logical sector size %d (must be 512 or 4096)", p.LogicalSectorSize)
	case p.PhysicalSectorSize != 512 && p.PhysicalSectorSize != 4096:
		return formatErr(off, "physical sector size %d (must be 512 or 4096)", p.PhysicalSectorSize)
	case p.VirtualSize == 0 || p.VirtualSize > maxVirtualSize:
		return formatErr(off, "virtual size %d is outside 1 byte to 64 TiB", p.VirtualSize)
	case p.VirtualSize%uint64(p.LogicalSectorSize) != 0:
		return formatErr(off, "virtual size %d is not a multiple of the %d-byte sector", p.VirtualSize, p.LogicalSectorSize)
	case p.HasParent && p.Parent == nil:
		return formatErr(off, "differencing disk without a parent locator")
	}
	return nil
}

// decodeParentLocator reads the parent locator item ([MS-VHDX] 2.6.2.6).
func decodeParentLocator(b []byte, off int64) (*ParentLocator, error) {
	if len(b) < 20 {
		return nil, formatErr(off, "parent locator is %d bytes", len(b))
	}
	if t := getGUID(b); t != guidVHDXParentType {
		return nil, unsupportedErr(off, "parent locator type %s is not the VHDX type", t)
	}
	n := int(binary.LittleEndian.Uint16(b[18:]))
	if 20+12*n > len(b) {
		return nil, formatErr(off+18, "parent locator claims %d entries in %d bytes", n, len(b))
	}
	loc := &ParentLocator{Entries: map[string]string{}}
	for i := 0; i < n; i++ {
		e := b[20+12*i:]
		at := off + 20 + 12*int64(i)
		key, err := utf16At(b, binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint16(e[8:]), at)
		if err != nil {
			return nil, err
		}
		val, err := utf16At(b, binary.LittleEndian.Uint32(e[4:]), binary.LittleEndian.Uint16(e[10:]), at)
		if err != nil {
			return nil, err
		}
		loc.Entries[key] = val
	}
	if err := loc.fromEntries(off); err != nil {
		return nil, err
	}
	return loc, nil
}

func (loc *ParentLocator) fromEntries(off int64) error {
	link, ok := loc.Entries["parent_linkage"]
	if !ok {
		return formatErr(off, "parent locator has no parent_linkage")
	}
	g, err := ParseGUID(link)
	if err != nil {
		return formatErr(off, "parent_linkage %q is not a GUID", link)
	}
	loc.Linkage = g
	if l2, ok := loc.Entries["parent_linkage2"]; ok {
		if g2, err := ParseGUID(l2); err == nil {
			loc.Linkage2 = g2
		}
	}
	loc.RelativePath = loc.Entries["relative_path"]
	loc.AbsolutePath = loc.Entries["absolute_win32_path"]
	loc.VolumePath = loc.Entries["volume_path"]
	return nil
}

func utf16At(b []byte, off uint32, n uint16, at int64) (string, error) {
	if n%2 != 0 || uint64(off)+uint64(n) > uint64(len(b)) {
		return "", formatErr(at, "parent locator string at 0x%x length %d lies outside the item", off, n)
	}
	u := make([]uint16, n/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[int(off)+2*i:])
	}
	return strings.TrimRight(string(utf16.Decode(u)), "\x00"), nil
}

// encodeParentLocator writes a parent locator item from key/value pairs in
// the given order.
func encodeParentLocator(kv [][2]string) []byte {
	head := 20 + 12*len(kv)
	var strs []byte
	entries := make([]byte, 12*len(kv))
	put := func(s string) (uint32, uint16) {
		at := uint32(head + len(strs))
		for _, c := range utf16.Encode([]rune(s)) {
			strs = binary.LittleEndian.AppendUint16(strs, c)
		}
		return at, uint16(uint32(head+len(strs)) - at)
	}
	for i, p := range kv {
		ko, kl := put(p[0])
		vo, vl := put(p[1])
		e := entries[12*i:]
		binary.LittleEndian.PutUint32(e, ko)
		binary.LittleEndian.PutUint32(e[4:], vo)
		binary.LittleEndian.PutUint16(e[8:], kl)
		binary.LittleEndian.PutUint16(e[10:], vl)
	}
	b := make([]byte, 20, head+len(strs))
	copy(b, guidVHDXParentType[:])
	binary.LittleEndian.PutUint16(b[18:], uint16(len(kv)))
	b = append(b, entries...)
	return append(b, strs...)
}

// linkageText is how a GUID is written into a parent locator: braces and
// lower case (libvhdi rejects upper-case hex).
func linkageText(g GUID) string { return fmt.Sprintf("{%s}", g) }
