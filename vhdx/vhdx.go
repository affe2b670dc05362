package vhdx

import (
	"fmt"
	"io"
)

// newVHDX reads a VHDX file: headers, log replay into memory, region
// tables, metadata, BAT.
func newVHDX(r io.ReaderAt, size int64) (*Disk, error) {
	h, used, warn, err := readHeaders(r, size)
	if err != nil {
		return nil, err
	}
	ov, replayed, err := replayLog(r, size, h)
	if err != nil {
		return nil, err
	}
	bat, meta, regionsUsed, rwarn, err := readRegions(ov, ov.size)
	if err != nil {
		return nil, err
	}
	p, err := readMetadata(ov, ov.size, meta)
	if err != nil {
		return nil, err
	}
	blocks, err := readBAT(ov, ov.size, bat, p)
	if err != nil {
		return nil, err
	}
	var file io.ReaderAt = ov
	if len(ov.segs) == 0 && ov.size == size {
		file = r // nothing replayed: reads skip the overlay
	}
	d := &Disk{
		Format:             FormatVHDX,
		Type:               TypeDynamic,
		FileSize:           size,
		VirtualSize:        int64(p.VirtualSize),
		BlockSize:          int64(p.BlockSize),
		LogicalSectorSize:  int64(p.LogicalSectorSize),
		PhysicalSectorSize: int64(p.PhysicalSectorSize),
		DiskID:             p.DiskID,
		DataWriteGUID:      h.DataWriteGUID,
		FileWriteGUID:      h.FileWriteGUID,
		Header:             used + ", " + regionsUsed,
		LogReplayed:        replayed > 0,
		LogEntries:         replayed,
		Warnings:           append(warn, rwarn...),
		r:                  file,
		blocks:             blocks,
		vhdx:               &vhdxLayout{header: h, batRegion: bat, metaRegion: meta, params: p, chunkRatio: blocks.chunkRatio},
	}
	switch {
	case p.HasParent:
		d.Type = TypeDifferencing
		d.Parent = p.Parent
	case p.LeaveBlockAllocated:
		d.Type = TypeFixed
	}
	if !h.LogGUID.IsZero() && replayed == 0 {
		d.Warnings = append(d.Warnings, fmt.Sprintf("log %s named in the header holds no valid entries", h.LogGUID))
	}
	for i := range blocks.bad {
		d.Warnings = append(d.Warnings, blocks.bad[i])
		if len(d.Warnings) > 20 {
			d.Warnings = append(d.Warnings, fmt.Sprintf("... %d damaged BAT entries in all", len(blocks.bad)))
			break
		}
	}
	return d, nil
}

// vhdxLayout keeps the VHDX structures that check, export and merge need.
type vhdxLayout struct {
	header     header
	batRegion  regionEntry
	metaRegion regionEntry
	params     diskParams
	chunkRatio int64
}
