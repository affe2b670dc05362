package guest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/diskfs/go-diskfs/partition/mbr"
)

// Extended partition types: DOS (0x05), Windows LBA (0x0F), Linux (0x85).
func isExtended(t mbr.Type) bool { return t == 0x05 || t == 0x0f || t == 0x85 }

// readMBR reads the four primary entries with go-diskfs and walks the
// chain of extended boot records itself, since go-diskfs does not read
// logical partitions. Logical partitions are numbered from 5 in chain
// order, as Linux does.
func readMBR(disk io.ReaderAt, size int64) (layout, error) {
	entries, err := readBootRecord(disk, size, 0)
	if err != nil {
		if errors.Is(err, ErrFormat) {
			return layout{table: "mbr", err: err}, nil
		}
		return layout{}, err
	}
	l := layout{table: "mbr"}
	var sig [4]byte
	if err := readFull(disk, size, sig[:], 440); err != nil {
		return layout{}, fmt.Errorf("reading the disk signature: %w", err)
	}
	l.diskSig = binary.LittleEndian.Uint32(sig[:])
	var ext *mbr.Partition
	for _, e := range entries {
		if e.Type == mbr.Empty || e.Size == 0 {
			continue
		}
		if isExtended(e.Type) && ext == nil {
			ext = e
		}
		l.parts = append(l.parts, partition{
			number: e.Index,
			start:  int64(e.Start) * mbrSectorSize,
			size:   int64(e.Size) * mbrSectorSize,
			ptype:  fmt.Sprintf("0x%02x", uint8(e.Type)),
		})
	}
	if ext != nil {
		logical, err := readLogical(disk, size, int64(ext.Start))
		if err != nil && !errors.Is(err, ErrFormat) {
			return layout{}, err
		}
		l.parts = append(l.parts, logical...)
		if err != nil {
			// Keep the logical partitions found before the break, and show
			// the break itself as an unusable entry after them.
			l.parts = append(l.parts, partition{number: 5 + len(logical), err: err})
		}
	}
	return l, nil
}

// readBootRecord parses the MBR or EBR at sector lba through go-diskfs,
// shown a one-sector window so that it reads the record as if at LBA 0.
func readBootRecord(disk io.ReaderAt, size, lba int64) ([]*mbr.Partition, error) {
	off := lba * mbrSectorSize
	if lba < 0 || off > size-mbrSectorSize {
		return nil, formatErr(off, "boot record outside the disk")
	}
	var t *mbr.Table
	err := guard("MBR", func() (err error) {
		t, err = mbr.Read(newStorage(io.NewSectionReader(disk, off, mbrSectorSize), mbrSectorSize), mbrSectorSize, mbrSectorSize)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrFormat) {
			return nil, err
		}
		return nil, &FormatError{Off: off, What: "boot record: " + err.Error()}
	}
	return t.Partitions, nil
}

// readLogical follows the EBR chain of the extended partition at extLBA.
// In each EBR, entry 1 is the logical partition (relative to this EBR) and
// entry 2 links to the next EBR (relative to the extended partition). The
// walk is bounded and refuses to revisit a record, so a looped chain ends.
func readLogical(disk io.ReaderAt, size, extLBA int64) ([]partition, error) {
	var parts []partition
	seen := map[int64]bool{}
	cur := extLBA
	for range maxPartitions {
		if seen[cur] {
			return parts, formatErr(cur*mbrSectorSize, "EBR chain loops")
		}
		seen[cur] = true
		entries, err := readBootRecord(disk, size, cur)
		if err != nil {
			return parts, err
		}
		if d := entries[0]; d.Type != mbr.Empty && d.Size != 0 {
			parts = append(parts, partition{
				number: 5 + len(parts),
				start:  (cur + int64(d.Start)) * mbrSectorSize,
				size:   int64(d.Size) * mbrSectorSize,
				ptype:  fmt.Sprintf("0x%02x", uint8(d.Type)),
			})
		}
		next := entries[1]
		if next.Type == mbr.Empty || next.Start == 0 || !isExtended(next.Type) {
			return parts, nil
		}
		cur = extLBA + int64(next.Start)
	}
	return parts, formatErr(extLBA*mbrSectorSize, "more than %d logical partitions", maxPartitions)
}
