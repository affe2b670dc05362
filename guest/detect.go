package guest

import (
	"encoding/binary"
	"io"
)

// Filesystem kinds as reported in Volume.FSType.
const (
	fsNTFS    = "ntfs"
	fsFAT12   = "fat12"
	fsFAT16   = "fat16"
	fsFAT32   = "fat32"
	fsExt2    = "ext2"
	fsExt3    = "ext3"
	fsExt4    = "ext4"
	fsISO9660 = "iso9660"
	fsXFS     = "xfs"
	fsUnknown = "unknown"
)

// probeSize covers every magic we look at: boot sector, ext superblock
// (bytes 1024..2047) and the first ISO volume descriptor (32768..34815).
const probeSize = 34816

// detectFS identifies a filesystem by its content, never by partition type.
// It reads at most probeSize bytes. The BPB is read from the returned
// buffer by the FAT checks so that callers need not read it twice.
func detectFS(r io.ReaderAt, size int64) (string, []byte) {
	buf := readProbe(r, size)
	return detectProbe(buf), buf
}

// detectProbe identifies a filesystem by the first bytes of its volume.
func detectProbe(buf []byte) string {
	switch {
	case hasLVMLabel(buf):
		return fsLVM2
	case len(buf) >= 512 && string(buf[3:11]) == "NTFS    ":
		return fsNTFS
	case len(buf) >= 512 && string(buf[3:11]) == "EXFAT   ":
		return fsExFAT
	case len(buf) >= 512 && string(buf[0:4]) == "XFSB":
		return fsXFS
	case len(buf) >= 1024+0x68 && binary.LittleEndian.Uint16(buf[1024+0x38:]) == 0xef53:
		return extKind(buf[1024:])
	case len(buf) >= 0x8006 && buf[0x8000] == 1 && string(buf[0x8001:0x8006]) == "CD001":
		return fsISO9660
	case swapPage(buf) != 0:
		return fsSwap
	}
	if kind, ok := fatKind(buf); ok {
		return kind
	}
	return fsUnknown
}

// extKind tells ext2, ext3 and ext4 apart by feature flags, as blkid does:
// extents (or other ext4-only incompat features) make ext4, a journal ext3.
func extKind(sb []byte) string {
	compat := binary.LittleEndian.Uint32(sb[0x5c:])
	incompat := binary.LittleEndian.Uint32(sb[0x60:])
	const (
		hasJournal   = 0x4
		ext4Incompat = 0x40 | 0x80 | 0x200 | 0x8000 // extents, 64bit, flex_bg, inline data
	)
	switch {
	case incompat&ext4Incompat != 0:
		return fsExt4
	case compat&hasJournal != 0:
		return fsExt3
	}
	return fsExt2
}

// bpb holds the BIOS parameter block fields the FAT checks need.
type bpb struct {
	bytesPerSector    uint32
	sectorsPerCluster uint32
	reserved          uint32
	fats              uint32
	rootEntries       uint32
	totalSectors      uint32
	fatSectors        uint32
}

func parseBPB(b []byte) bpb {
	p := bpb{
		bytesPerSector:    uint32(binary.LittleEndian.Uint16(b[11:])),
		sectorsPerCluster: uint32(b[13]),
		reserved:          uint32(binary.LittleEndian.Uint16(b[14:])),
		fats:              uint32(b[16]),
		rootEntries:       uint32(binary.LittleEndian.Uint16(b[17:])),
		totalSectors:      uint32(binary.LittleEndian.Uint16(b[19:])),
		fatSectors:        uint32(binary.LittleEndian.Uint16(b[22:])),
	}
	if p.totalSectors == 0 {
		p.totalSectors = binary.LittleEndian.Uint32(b[32:])
	}
	if p.fatSectors == 0 {
		p.fatSectors = binary.LittleEndian.Uint32(b[36:])
	}
	return p
}

// fatKind checks a boot sector for a plausible FAT BPB and tells FAT12,
// FAT16 and FAT32 apart as the drivers do (the type string in the BPB is
// not authoritative): a BPB with no 16-bit FAT size is FAT32, whatever
// its cluster count, and an other one FAT12 or FAT16 by its cluster count.
// Microsoft's specification derives all three from the cluster count, but
// its own fastfat and Linux's vfat take the BPB's layout first, so both
// open a FAT32 that mkfs.fat made with fewer than 65,525 clusters (it
// warns and makes it: a small or large-cluster EFI partition).
func fatKind(b []byte) (string, bool) {
	if len(b) < 512 || b[510] != 0x55 || b[511] != 0xaa {
		return "", false
	}
	if b[0] != 0xeb && b[0] != 0xe9 {
		return "", false
	}
	p := parseBPB(b)
	clusters, ok := p.clusters()
	if !ok {
		return "", false
	}
	switch {
	case binary.LittleEndian.Uint16(b[22:]) == 0:
		return fsFAT32, true
	case clusters < 4085:
		return fsFAT12, true
	}
	return fsFAT16, true
}

// clusters returns the data cluster count, or false when the BPB fields are
// impossible (zero or non-power-of-two sizes, metadata larger than the
// volume).
func (p bpb) clusters() (uint64, bool) {
	switch p.bytesPerSector {
	case 512, 1024, 2048, 4096:
	default:
		return 0, false
	}
	spc := p.sectorsPerCluster
	if spc == 0 || spc&(spc-1) != 0 || p.reserved == 0 || p.fats == 0 || p.fatSectors == 0 {
		return 0, false
	}
	meta := uint64(p.reserved) + uint64(p.fats)*uint64(p.fatSectors) + uint64(p.rootSectors())
	if meta >= uint64(p.totalSectors) {
		return 0, false
	}
	return (uint64(p.totalSectors) - meta) / uint64(spc), true
}

// rootSectors is the size of the fixed FAT12/16 root directory (0 on FAT32,
// whose BPB has no root entries). Call it only after clusters said the
// sector size is valid.
func (p bpb) rootSectors() uint32 {
	return (p.rootEntries*32 + p.bytesPerSector - 1) / p.bytesPerSector
}
