package exfat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The boot region: sector 0 is the boot sector, 1-8 the extended boot
// sectors, 9 the OEM parameters, 10 reserved, 11 the checksum of 0-10.
// A backup copy of all twelve follows at sector 12.
const (
	bootRegionSectors = 12
	backupBootSector  = 12
	fsName            = "EXFAT   "
	// maxClusterCount is the largest ClusterCount the specification
	// allows (the FAT's values from 0xFFFFFFF7 up are markers).
	maxClusterCount = 0xFFFFFFF5
)

// Volume flags (VolumeFlags).
const (
	flagActiveFat   = 1 << 0 // the second FAT and bitmap are the live ones
	flagVolumeDirty = 1 << 1
	flagMediaFail   = 1 << 2
)

// bootSector holds the fields of the boot sector this package uses, at
// the offsets the specification gives them.
type bootSector struct {
	PartitionOffset   uint64 // 64: sectors from the start of the disk (informative)
	VolumeLength      uint64 // 72: sectors
	FatOffset         uint32 // 80: sectors
	FatLength         uint32 // 84: sectors per FAT
	ClusterHeapOffset uint32 // 88: sectors
	ClusterCount      uint32 // 92
	RootCluster       uint32 // 96: FirstClusterOfRootDirectory
	Serial            uint32 // 100: VolumeSerialNumber
	Revision          uint16 // 104: FileSystemRevision, major in the high byte
	VolumeFlags       uint16 // 106
	SectorShift       uint8  // 108: BytesPerSectorShift
	ClusterShift      uint8  // 109: SectorsPerClusterShift
	NumberOfFats      uint8  // 110
	DriveSelect       uint8  // 111
	PercentInUse      uint8  // 112
}

// decodeBoot reads a boot sector (its first 512 bytes) and checks that
// its fields describe a possible volume of at most size bytes.
func decodeBoot(b []byte, size int64) (bootSector, error) {
	var s bootSector
	if len(b) < 512 || string(b[3:11]) != fsName {
		return s, formatErr(3, "no exFAT file system name")
	}
	if binary.LittleEndian.Uint16(b[510:]) != 0xAA55 {
		return s, formatErr(510, "boot signature %#x", binary.LittleEndian.Uint16(b[510:]))
	}
	for i := 11; i < 64; i++ {
		// Where FAT keeps its BIOS parameter block exFAT keeps zeros, so
		// that FAT drivers refuse the volume.
		if b[i] != 0 {
			return s, formatErr(int64(i), "MustBeZero byte is %#x", b[i])
		}
	}
	le := binary.LittleEndian
	s = bootSector{
		PartitionOffset:   le.Uint64(b[64:]),
		VolumeLength:      le.Uint64(b[72:]),
		FatOffset:         le.Uint32(b[80:]),
		FatLength:         le.Uint32(b[84:]),
		ClusterHeapOffset: le.Uint32(b[88:]),
		ClusterCount:      le.Uint32(b[92:]),
		RootCluster:       le.Uint32(b[96:]),
		Serial:            le.Uint32(b[100:]),
		Revision:          le.Uint16(b[104:]),
		VolumeFlags:       le.Uint16(b[106:]),
		SectorShift:       b[108],
		ClusterShift:      b[109],
		NumberOfFats:      b[110],
		DriveSelect:       b[111],
		PercentInUse:      b[112],
	}
	return s, s.check(size)
}

// encode writes the fields into a 512-byte boot sector (the file system
// name, the signature and the fields; boot code and jump are left as
// they are). The tests build and damage volumes with it.
func (s bootSector) encode(b []byte) {
	le := binary.LittleEndian
	copy(b[3:11], fsName)
	clear(b[11:64])
	le.PutUint64(b[64:], s.PartitionOffset)
	le.PutUint64(b[72:], s.VolumeLength)
	le.PutUint32(b[80:], s.FatOffset)
	le.PutUint32(b[84:], s.FatLength)
	le.PutUint32(b[88:], s.ClusterHeapOffset)
	le.PutUint32(b[92:], s.ClusterCount)
	le.PutUint32(b[96:], s.RootCluster)
	le.PutUint32(b[100:], s.Serial)
	le.PutUint16(b[104:], s.Revision)
	le.PutUint16(b[106:], s.VolumeFlags)
	b[108], b[109], b[110], b[111], b[112] = s.SectorShift, s.ClusterShift, s.NumberOfFats, s.DriveSelect, s.PercentInUse
	le.PutUint16(b[510:], 0xAA55)
}

// check validates the geometry against the rules of the specification
// and the size of the source, so that nothing later computes an offset
// outside the volume from them.
func (s bootSector) check(size int64) error {
	if s.Revision>>8 != 1 {
		return kindErr(ErrUnsupported, 104, "file system revision %d.%02d", s.Revision>>8, s.Revision&0xff)
	}
	if s.SectorShift < 9 || s.SectorShift > 12 {
		return formatErr(108, "BytesPerSectorShift %d (9-12)", s.SectorShift)
	}
	if int(s.ClusterShift) > 25-int(s.SectorShift) {
		return formatErr(109, "SectorsPerClusterShift %d makes clusters over 32 MiB", s.ClusterShift)
	}
	if s.NumberOfFats != 1 && s.NumberOfFats != 2 {
		return formatErr(110, "NumberOfFats %d", s.NumberOfFats)
	}
	sectors := uint64(size) >> s.SectorShift
	if s.VolumeLength > sectors {
		return formatErr(72, "VolumeLength of %d sectors in %d bytes", s.VolumeLength, size)
	}
	if s.FatOffset < 24 {
		return formatErr(80, "FatOffset %d lies in the boot regions", s.FatOffset)
	}
	if s.ClusterCount == 0 || s.ClusterCount > maxClusterCount {
		return formatErr(92, "ClusterCount %d", s.ClusterCount)
	}
	// Each FAT has an entry for every cluster and the two reserved ones.
	if need := (uint64(s.ClusterCount) + 2) * 4; uint64(s.FatLength)<<s.SectorShift < need {
		return formatErr(84, "FatLength of %d sectors for %d clusters", s.FatLength, s.ClusterCount)
	}
	fatEnd := uint64(s.FatOffset) + uint64(s.FatLength)*uint64(s.NumberOfFats)
	if uint64(s.ClusterHeapOffset) < fatEnd {
		return formatErr(88, "ClusterHeapOffset %d overlaps the FATs (they end at sector %d)", s.ClusterHeapOffset, fatEnd)
	}
	heapEnd := uint64(s.ClusterHeapOffset) + uint64(s.ClusterCount)<<s.ClusterShift
	if heapEnd > s.VolumeLength {
		return formatErr(92, "%d clusters from sector %d end past the volume's %d sectors", s.ClusterCount, s.ClusterHeapOffset, s.VolumeLength)
	}
	if s.RootCluster < 2 || s.RootCluster > s.ClusterCount+1 {
		return formatErr(96, "FirstClusterOfRootDirectory %d", s.RootCluster)
	}
	return nil
}

// activeFat is the index (0 or 1) of the FAT and allocation bitmap in use.
func (s bootSector) activeFat() int {
	if s.NumberOfFats == 2 && s.VolumeFlags&flagActiveFat != 0 {
		return 1
	}
	return 0
}

// bootChecksum is the checksum of sectors 0-10 of a boot region, as
// sector 11 repeats it: the VolumeFlags and PercentInUse bytes are left
// out, so that updating them does not mean rewriting the checksum.
func bootChecksum(region []byte, sectorSize int) uint32 {
	var sum uint32
	for i, c := range region[:11*sectorSize] {
		if i == 106 || i == 107 || i == 112 {
			continue
		}
		sum = (sum>>1 | sum<<31) + uint32(c)
	}
	return sum
}

// setBootChecksum fills sector 11 of a region with its checksum (for the
// tests' encoders).
func setBootChecksum(region []byte, sectorSize int) {
	sum := bootChecksum(region, sectorSize)
	for i := 11 * sectorSize; i < 12*sectorSize; i += 4 {
		binary.LittleEndian.PutUint32(region[i:], sum)
	}
}

// readBootRegion reads and checks the boot region starting at byte base.
func readBootRegion(r io.ReaderAt, size, base int64) (bootSector, error) {
	var first [512]byte
	if err := readFull(r, size, first[:], base); err != nil {
		return bootSector{}, err
	}
	s, err := decodeBoot(first[:], size)
	if err != nil {
		return s, rebase(err, base)
	}
	ss := 1 << s.SectorShift
	region := make([]byte, bootRegionSectors*ss)
	if err := readFull(r, size, region, base); err != nil {
		return s, err
	}
	sum := bootChecksum(region, ss)
	for i := 11 * ss; i < 12*ss; i += 4 {
		if got := binary.LittleEndian.Uint32(region[i:]); got != sum {
			return s, kindErr(ErrChecksum, base+int64(i), "boot checksum %#08x, sectors 0-10 sum to %#08x", got, sum)
		}
	}
	return s, nil
}

// rebase moves the offset of a FormatError by base bytes (the boot
// sector decoder counts from its own start).
func rebase(err error, base int64) error {
	var fe *FormatError
	if errors.As(err, &fe) && fe.Off >= 0 {
		c := *fe
		c.Off += base
		return &c
	}
	return err
}

// loadBoot reads the main boot region, and the backup one when the main
// one's content is bad (an I/O error is returned as it is: the backup
// would not be more readable). fromBackup says the backup was used; warn
// says why, or that the backup is bad while the main one is intact.
func loadBoot(r io.ReaderAt, size int64) (s bootSector, fromBackup bool, warn, err error) {
	s, err = readBootRegion(r, size, 0)
	if err == nil {
		// The backup is what a damaged main region will be restored from:
		// a bad one is damage too, though nothing reads it now.
		if _, berr := readBootRegion(r, size, backupBootSector<<s.SectorShift); isContent(berr) {
			return s, false, fmt.Errorf("backup boot region bad (%w); the main one is intact", berr), nil
		}
		return s, false, nil, nil
	}
	if !isContent(err) {
		return s, false, nil, err
	}
	// The backup lies at sector 12 in the main region's sector size; when
	// that is unreadable too, try each possible one.
	for shift := uint8(9); shift <= 12; shift++ {
		b, berr := readBootRegion(r, size, backupBootSector<<shift)
		if berr == nil && b.SectorShift == shift {
			return b, true, fmt.Errorf("main boot region bad (%w); the backup boot region at sector 12 was used", err), nil
		}
	}
	return s, false, nil, err
}

// readFull reads len(p) bytes at off, which must lie inside the volume.
func readFull(r io.ReaderAt, size int64, p []byte, off int64) error {
	if off < 0 || off > size || int64(len(p)) > size-off {
		return formatErr(off, "%d bytes past the volume end (%d bytes)", len(p), size)
	}
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("exfat: reading %d bytes at byte %d: %w", len(p), off, err)
}
