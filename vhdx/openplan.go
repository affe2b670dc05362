package vhdx

import (
	"bytes"
	"encoding/binary"
)

// HeadSize is the start of a VHDX file that holds its file identifier,
// both headers and both region tables: what opening it reads first.
const HeadSize = regionTable2Off + regionTableSize

// Opening a disk over a network reads its structures one after the
// other: the headers and region tables say where the metadata and the
// BAT are, which a second round trip fetches. OpenRanges lets a reader
// that has the first HeadSize bytes ask for the rest at once, in few
// requests, instead of fetching megabytes at offset 0 on the chance that
// they hold it all (or one request per structure as the open reads it).
const (
	// planMeta is the start of the metadata region asked for: its table
	// (64 KiB) and the items, which writers put right after it.
	planMeta = 2 * metadataTableSz
	// planBAT is the start of the BAT asked for: 8,192 entries, a disk of
	// up to 256 GiB in 32 MiB blocks; the open reads the rest of a
	// larger one as it goes.
	planBAT = 64 * kib
	// planLog bounds the log asked for (a log to replay is read whole).
	planLog = 4 * mib
)

// OpenRanges returns the byte ranges past the first HeadSize bytes that
// opening the disk file reads, given those bytes (head, shorter when the
// file is) and the file's size, as sorted [start, end) pairs: for a
// VHDX, the log when the current header names one, the start of the
// metadata region and the start of the BAT; for a VHD, its footer at the
// end of the file and its BAT (what of them lies past head). It returns
// nil for a damaged head (the open then reads what it needs as it goes
// and reports the damage). The ranges are only hints: a reader may fetch
// more or less, and the open still checks everything it reads.
func OpenRanges(head []byte, size int64) [][2]int64 {
	var out [][2]int64
	add := func(off, n int64) {
		if off < 0 || off >= size || n <= 0 {
			return // damaged: the open reports it
		}
		end := min(off+n, size) // n is capped: no overflow
		off = max(off, int64(len(head)))
		if off < end {
			out = append(out, [2]int64{off, end})
		}
	}
	r := bytes.NewReader(head)
	if len(head) >= 8 && string(head[:8]) == "vhdxfile" {
		h, _, _, err := readHeaders(r, size)
		if err != nil {
			return nil
		}
		if !h.LogGUID.IsZero() {
			add(int64(h.LogOffset), min(int64(h.LogLength), planLog))
		}
		bat, meta, _, _, err := readRegions(r, size)
		if err != nil {
			return nil
		}
		add(int64(meta.Offset), min(int64(meta.Length), planMeta))
		add(int64(bat.Offset), min(int64(bat.Length), planBAT))
	} else {
		// A VHD: the footer at the end (a fixed disk has no copy at
		// 0), and a dynamic disk's BAT, which its header names.
		add(size-vhdFooterSize, vhdFooterSize)
		if len(head) >= vhdFooterSize && string(head[:8]) == "conectix" {
			dyn := int64(binary.BigEndian.Uint64(head[16:]))
			if dyn >= 0 && dyn <= int64(len(head))-vhdDynHeaderSize && string(head[dyn:dyn+8]) == "cxsparse" {
				tab := int64(binary.BigEndian.Uint64(head[dyn+16:]))
				n := int64(binary.BigEndian.Uint32(head[dyn+28:]))
				add(tab, min(4*n, planLog))
			}
		}
	}
	// Sorted, overlaps merged.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j][0] < out[j-1][0]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	merged := out[:0]
	for _, p := range out {
		if k := len(merged); k > 0 && p[0] <= merged[k-1][1] {
			merged[k-1][1] = max(merged[k-1][1], p[1])
			continue
		}
		merged = append(merged, p)
	}
	return merged
}
