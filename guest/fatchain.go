package guest

import (
	"encoding/binary"
	"io"
)

// maxFATBytes bounds the FAT we load for the chain check (a FAT32 volume
// of 2 TiB with 32 KiB clusters has a 256 MiB FAT; real guests are far
// below).
const maxFATBytes = 256 << 20

// fatTable is the first FAT of a volume, loaded once and checked to be free
// of loops, plus where the data clusters lie. Open files walk it to find
// their cluster runs (see fatfile.go).
type fatTable struct {
	next        func(uint32) uint32 // successor of a cluster
	maxCluster  uint32              // highest cluster number both the BPB and the FAT describe
	dataStart   int64               // byte offset of cluster 2 in the partition
	clusterSize int64
}

// loadFAT reads the first FAT and refuses it when a cluster chain loops.
// go-diskfs follows chains without a bound (fat12 getClusterList), so a
// loop would hang the mount rather than fail; recover cannot help there.
// The FAT is a graph in which every cluster has one successor, so one pass
// with three colours finds every cycle in time linear in the cluster count.
func loadFAT(kind string, r io.ReaderAt, size int64, boot []byte) (*fatTable, error) {
	p := parseBPB(boot)
	clusters, ok := p.clusters()
	if !ok {
		return nil, formatErr(11, "%s: impossible BPB", kind)
	}
	fatOff := int64(p.reserved) * int64(p.bytesPerSector)
	fatBytes := int64(p.fatSectors) * int64(p.bytesPerSector)
	if fatBytes > maxFATBytes {
		return nil, formatErr(22, "%s: FAT of %d bytes is larger than we load", kind, fatBytes)
	}
	fat := make([]byte, fatBytes)
	if err := readFull(r, size, fat, fatOff); err != nil {
		return nil, formatErr(fatOff, "%s: reading the FAT: %v", kind, err)
	}
	t := &fatTable{
		next:        fatDecoder(kind, fat),
		maxCluster:  fatMaxCluster(kind, len(fat), clusters),
		dataStart:   fatOff + int64(p.fats)*fatBytes + int64(p.rootSectors())*int64(p.bytesPerSector),
		clusterSize: int64(p.sectorsPerCluster) * int64(p.bytesPerSector),
	}
	if c, loops := t.findLoop(); loops {
		return nil, formatErr(fatOff, "%s: cluster chain loops at cluster %d", kind, c)
	}
	return t, nil
}

// fatMaxCluster is the highest cluster that has a successor: clusters
// beyond what the loaded FAT can describe have none, so arrays indexed by
// cluster are bounded by the FAT we loaded, not by the BPB alone.
func fatMaxCluster(kind string, fatLen int, clusters uint64) uint32 {
	entries := uint64(fatLen) / 4
	switch kind {
	case fsFAT12:
		entries = uint64(fatLen) * 2 / 3
	case fsFAT16:
		entries = uint64(fatLen) / 2
	}
	return uint32(min(clusters+1, entries, 0x0ffffff6))
}

// valid reports whether c is a data cluster of the volume.
func (t *fatTable) valid(c uint32) bool { return c >= 2 && c <= t.maxCluster }

// findLoop returns a cluster on a loop, if any chain has one.
func (t *fatTable) findLoop() (uint32, bool) {
	next, maxCluster := t.next, t.maxCluster
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
			return c, true
		}
		for c = start; c >= 2 && c <= maxCluster && state[c] == onPath; c = next(c) {
			state[c] = done
		}
	}
	return 0, false
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
