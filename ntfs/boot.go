package ntfs

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Geometry is what the boot sector says about the volume's layout, after
// validation.
type Geometry struct {
	BytesPerSector  uint32 // 256..4096, a power of two
	ClusterSize     uint32 // bytes per cluster, a power of two ≤ 2 MiB
	TotalSectors    uint64 // sectors in the volume (the backup boot sector is past them)
	MFTCluster      uint64 // LCN of $MFT
	MFTMirrCluster  uint64 // LCN of $MFTMirr
	RecordSize      uint32 // bytes per MFT record
	IndexRecordSize uint32 // bytes per INDX record
	Serial          uint64 // volume serial number
}

// Clusters returns the number of clusters in the volume.
func (g *Geometry) Clusters() uint64 {
	return g.TotalSectors * uint64(g.BytesPerSector) / uint64(g.ClusterSize)
}

const bootSectorSize = 512

// parseBoot decodes and validates the boot sector at the start of buf,
// against the size of the device holding the volume.
func parseBoot(b []byte, devSize int64) (*Geometry, error) {
	if len(b) < bootSectorSize {
		return nil, formatErr(0, "boot sector truncated")
	}
	if string(b[3:11]) != "NTFS    " {
		return nil, formatErr(3, "OEM id %q is not NTFS", b[3:11])
	}
	if b[510] != 0x55 || b[511] != 0xAA {
		return nil, formatErr(510, "boot signature missing")
	}
	g := &Geometry{}
	bps := uint32(binary.LittleEndian.Uint16(b[0x0B:]))
	if bps < 256 || bps > 4096 || bps&(bps-1) != 0 {
		return nil, formatErr(0x0B, "bytes per sector %d", bps)
	}
	g.BytesPerSector = bps
	spc := uint32(b[0x0D])
	if spc > 0x80 {
		// Large clusters are written as a negative power of two.
		shift := 256 - spc
		if shift > 12 {
			return nil, formatErr(0x0D, "sectors per cluster 2^%d", shift)
		}
		spc = 1 << shift
	}
	if spc == 0 || spc&(spc-1) != 0 {
		return nil, formatErr(0x0D, "sectors per cluster %d", spc)
	}
	g.ClusterSize = bps * spc
	if g.ClusterSize > 2<<20 {
		return nil, formatErr(0x0D, "cluster size %d", g.ClusterSize)
	}
	g.TotalSectors = binary.LittleEndian.Uint64(b[0x28:])
	if g.TotalSectors == 0 || g.TotalSectors > uint64(devSize)/uint64(bps) {
		return nil, formatErr(0x28, "volume of %d sectors does not fit in %d bytes", g.TotalSectors, devSize)
	}
	g.MFTCluster = binary.LittleEndian.Uint64(b[0x30:])
	g.MFTMirrCluster = binary.LittleEndian.Uint64(b[0x38:])
	if g.MFTCluster == 0 || g.MFTCluster >= g.Clusters() {
		return nil, formatErr(0x30, "$MFT cluster %d outside the volume", g.MFTCluster)
	}
	var err error
	if g.RecordSize, err = recordSize(int8(b[0x40]), g.ClusterSize); err != nil {
		return nil, &FormatError{Off: 0x40, What: "MFT record size: " + err.Error()}
	}
	if g.RecordSize < 512 || g.RecordSize > 64<<10 {
		return nil, formatErr(0x40, "MFT record size %d", g.RecordSize)
	}
	if g.IndexRecordSize, err = recordSize(int8(b[0x44]), g.ClusterSize); err != nil {
		return nil, &FormatError{Off: 0x44, What: "index record size: " + err.Error()}
	}
	if g.IndexRecordSize < 512 || g.IndexRecordSize > 64<<10 {
		return nil, formatErr(0x44, "index record size %d", g.IndexRecordSize)
	}
	g.Serial = binary.LittleEndian.Uint64(b[0x48:])
	return g, nil
}

// recordSize decodes the "clusters per record" byte: positive counts
// clusters, negative n means 2^-n bytes.
func recordSize(v int8, cluster uint32) (uint32, error) {
	if v > 0 {
		return uint32(v) * cluster, nil
	}
	if v < -31 || v == 0 {
		return 0, fmt.Errorf("encoded as %d", v)
	}
	return 1 << uint(-v), nil
}

// readBoot reads and parses the boot sector of the volume in r.
func readBoot(r io.ReaderAt, size int64) (*Geometry, error) {
	b := make([]byte, bootSectorSize)
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("ntfs: reading boot sector: %w", err)
	}
	return parseBoot(b, size)
}
