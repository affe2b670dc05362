package guest

import (
	"encoding/binary"
	"io"
)

// maxFATBytes bounds the FAT we load for the chain check (a FAT32 volume
// of 2 TiB with 32 KiB clusters has a 256 MiB FAT; real guests are far
// below).
const maxFATBytes = 256 << 20

// checkFATChains refuses a FAT whose cluster chains loop. go-diskfs follows
// chains without a bound (fat12 getClusterList), so a loop would hang the
// mount rather than fail; recover cannot help there. The FAT is a graph in
// which every cluster has one successor, so one pass with three colours
// finds every cycle in time linear in the cluster count.
func checkFATChains(kind string, r io.ReaderAt, size int64, boot []byte) error {
	p := parseBPB(boot)
	clusters, ok := p.clusters()
	if !ok {
		return formatErr(11, "%s: impossible BPB", kind)
	}
	fatBytes := int64(p.fatSectors) * int64(p.bytesPerSector)
	if fatBytes > maxFATBytes {
		return formatErr(22, "%s: FAT of %d bytes is larger than we load", kind, fatBytes)
	}
	fat := make([]byte, fatBytes)
	if err := readFull(r, size, fat, int64(p.reserved)*int64(p.bytesPerSector)); err != nil {
		return formatErr(int64(p.reserved)*int64(p.bytesPerSector), "%s: reading the FAT: %v", kind, err)
	}
	next := fatDecoder(kind, fat)
	// Clusters beyond what the FAT can describe have no successor, so the
	// colour array is bounded by the FAT we loaded, not by the BPB.
	entries := uint64(len(fat)) / 4
	switch kind {
	case fsFAT12:
		entries = uint64(len(fat)) * 2 / 3
	case fsFAT16:
		entries = uint64(len(fat)) / 2
	}
	maxCluster := uint32(min(clusters+1, entries, 0x0ffffff6))
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]uint8, maxCluster+1)
	for start := uint32(2); start <= maxCluster; start++ {
		c := start
		for c >= 2 && c <= maxCluster && state[c] == unseen {
			state[c] = onPath
			c = next(c)
		}
		if c >= 2 && c <= maxCluster && state[c] == onPath {
			return formatErr(int64(p.reserved)*int64(p.bytesPerSector), "%s: cluster chain loops at cluster %d", kind, c)
		}
		for c = start; c >= 2 && c <= maxCluster && state[c] == onPath; c = next(c) {
			state[c] = done
		}
	}
	return nil
}

// fatDecoder returns the successor function of a FAT; clusters past the
// table's end read as 0 (free), which ends a chain.
func fatDecoder(kind string, fat []byte) func(uint32) uint32 {
	switch kind {
	case fsFAT12:
		return func(c uint32) uint32 {
			i := int(c) + int(c)/2
			if i+1 >= len(fat) {
				return 0
			}
			v := uint32(binary.LittleEndian.Uint16(fat[i:]))
			if c&1 == 1 {
				return v >> 4
			}
			return v & 0xfff
		}
	case fsFAT16:
		return func(c uint32) uint32 {
			if int(c)*2+1 >= len(fat) {
				return 0
			}
			return uint32(binary.LittleEndian.Uint16(fat[c*2:]))
		}
	}
	return func(c uint32) uint32 {
		if int(c)*4+3 >= len(fat) {
			return 0
		}
		return binary.LittleEndian.Uint32(fat[c*4:]) & 0x0fffffff
	}
}
