package guest

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/ckptfs/ckptfs/ldm"
)

// partition is one entry of a partition table, before its filesystem is
// looked at. Offsets are in bytes from the start of the disk.
type partition struct {
	number     int
	start      int64
	size       int64
	ptype      string
	name       string
	guid       string // GPT unique partition GUID, upper case
	diskSig    uint32 // MBR: the disk's signature (layout.diskSig)
	fromBackup bool   // GPT read from the backup header
	err        error  // the entry itself is unusable
}

// layout is what readLayout found on a disk.
type layout struct {
	table   string // "gpt", "mbr" or "none"
	parts   []partition
	diskSig uint32 // MBR: the disk signature (bytes 440-443 of sector 0)
	err     error  // the table was recognised but could not be read
}

const (
	mbrSectorSize = 512
	// maxPartitions bounds the table sizes we accept: GPT entry arrays and
	// EBR chains longer than this are treated as damaged.
	maxPartitions = 1024
)

// readLayout decides how the disk is organised. Order matters: a GPT is
// looked for first (its protective MBR would otherwise read as an MBR with
// one 0xEE partition); then a filesystem at byte 0 (a FAT or NTFS boot
// sector ends in 55 AA like an MBR does); then an MBR.
func readLayout(disk io.ReaderAt, size int64) (layout, error) {
	sec0 := make([]byte, mbrSectorSize)
	if err := readFull(disk, size, sec0, 0); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return layout{table: "none"}, nil // too small to hold a table
		}
		return layout{}, fmt.Errorf("reading sector 0: %w", err)
	}
	if l, ok, err := readGPT(disk, size); err != nil || ok {
		return l, err
	}
	if kind, _ := detectFS(disk, size); kind != "unknown" || isBitLockerHeader(sec0) || isLUKSHeader(sec0) {
		if kind != fsLVM2 || !staleLVMLabel(disk, size, sec0) {
			return layout{table: "none"}, nil
		}
	}
	if bytes.Equal(sec0[510:512], []byte{0x55, 0xaa}) {
		return readMBR(disk, size)
	}
	return layout{table: "none"}, nil
}

// readFull reads len(p) bytes at off, reporting io.ErrUnexpectedEOF when
// the disk ends first.
func readFull(r io.ReaderAt, size int64, p []byte, off int64) error {
	if off < 0 || off > size || int64(len(p)) > size-off {
		return io.ErrUnexpectedEOF
	}
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// checkRange reports whether a partition lies inside the disk. A partition
// that starts inside but runs past the end is clipped (the filesystem may
// still be readable, as with a disk image cut short), and reported through
// the returned flag.
func checkRange(p *partition, diskSize int64) (clipped bool) {
	if p.err != nil {
		return false
	}
	if p.start < 0 || p.size <= 0 || p.start >= diskSize {
		p.err = fmt.Errorf("partition %d (start 0x%x, %d bytes, disk %d bytes): %w",
			p.number, p.start, p.size, diskSize, ErrOutOfRange)
		return false
	}
	if p.size > diskSize-p.start {
		p.size = diskSize - p.start
		return true
	}
	return false
}

// staleLVMLabel reports whether the LVM label of a whole disk (sector 1)
// is left over from before Windows made the disk dynamic: sector 0 is an
// MBR with an LDM partition (type 0x42) and the disk holds a readable LDM
// database. pvcreate wipes sector 0, and Windows writes only sectors 0
// and 6 and the database at the end, so the label is the older of the
// two; read as a physical volume, the disk would be lost to its disk
// group and its dynamic volumes to their other disks.
func staleLVMLabel(disk io.ReaderAt, size int64, sec0 []byte) bool {
	if !bytes.Equal(sec0[510:512], []byte{0x55, 0xaa}) {
		return false
	}
	for i := 0; i < 4; i++ {
		if sec0[446+16*i+4] == 0x42 {
			_, err := ldm.NewDisk(disk, size)
			return err == nil
		}
	}
	return false
}
