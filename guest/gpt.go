package guest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/diskfs/go-diskfs/partition/gpt"
)

const (
	gptSignature  = "EFI PART"
	gptEntrySize  = 128  // the only entry size go-diskfs parses
	maxGPTEntries = 4096 // 512 KiB of entries; the usual array has 128
)

// readGPT looks for a GPT with 512-byte sectors, then with 4096-byte
// sectors (VHDX disks may use either). ok is false when no GPT header
// signature is present at all.
func readGPT(disk io.ReaderAt, size int64) (l layout, ok bool, err error) {
	for _, ss := range []int64{512, 4096} {
		l, ok, err = readGPTWith(disk, size, ss)
		if err != nil || ok {
			return l, ok, err
		}
	}
	return layout{}, false, nil
}

// readGPTWith reads the primary GPT and falls back to the backup copy at
// the last sector when the primary is damaged. The backup is used only for
// content errors (bad signature, checksum, sizes); an I/O error is returned.
func readGPTWith(disk io.ReaderAt, size, ss int64) (layout, bool, error) {
	if size < 3*ss {
		return layout{}, false, nil
	}
	lastLBA := size/ss - 1
	primary := make([]byte, ss)
	backup := make([]byte, ss)
	if err := readFull(disk, size, primary, ss); err != nil {
		return layout{}, false, fmt.Errorf("reading GPT header: %w", err)
	}
	if err := readFull(disk, size, backup, lastLBA*ss); err != nil {
		return layout{}, false, fmt.Errorf("reading backup GPT header: %w", err)
	}
	if !hasGPTSignature(primary) && !hasGPTSignature(backup) {
		return layout{}, false, nil
	}
	parts, errP := gptFromHeader(disk, size, ss, primary)
	if errP == nil {
		return layout{table: "gpt", parts: parts}, true, nil
	}
	if !errors.Is(errP, ErrFormat) && !errors.Is(errP, ErrUnsupported) {
		return layout{}, true, errP
	}
	parts, errB := gptFromHeader(disk, size, ss, backup)
	if errB != nil {
		return layout{table: "gpt", err: fmt.Errorf("primary GPT: %w; backup GPT: %w", errP, errB)}, true, nil
	}
	for i := range parts {
		parts[i].fromBackup = true
	}
	return layout{table: "gpt", parts: parts}, true, nil
}

func hasGPTSignature(hdr []byte) bool {
	return len(hdr) >= 92 && string(hdr[:8]) == gptSignature
}

// gptFromHeader checks the sizes in one GPT header copy before go-diskfs
// allocates from them, then lets go-diskfs verify both checksums and parse
// the entries. go-diskfs only reads the header at LBA 1, so a backup header
// is shown to it through an overlay that places it there; the header's own
// entry-array LBA then points go-diskfs at the backup array.
func gptFromHeader(disk io.ReaderAt, size, ss int64, hdr []byte) ([]partition, error) {
	if !hasGPTSignature(hdr) {
		return nil, formatErr(ss, "no GPT signature")
	}
	arrayLBA := binary.LittleEndian.Uint64(hdr[72:80])
	count := binary.LittleEndian.Uint32(hdr[80:84])
	entSize := binary.LittleEndian.Uint32(hdr[84:88])
	switch {
	case entSize != gptEntrySize:
		return nil, fmt.Errorf("GPT entry size %d: %w", entSize, ErrUnsupported)
	case count == 0 || count > maxGPTEntries:
		return nil, formatErr(ss+80, "GPT entry count %d", count)
	case arrayLBA == 0 || arrayLBA > uint64(size/ss):
		return nil, formatErr(ss+72, "GPT entry array at LBA %d outside the disk", arrayLBA)
	case int64(arrayLBA)*ss+int64(count)*gptEntrySize > size:
		return nil, formatErr(ss+72, "GPT entry array runs past the disk end")
	}
	view := io.ReaderAt(disk)
	if sec1 := make([]byte, ss); readFull(disk, size, sec1, ss) != nil || !bytes.Equal(sec1, hdr) {
		view = &overlay{r: disk, off: ss, data: hdr}
	}
	var table *gpt.Table
	err := guard("GPT", func() (err error) {
		table, err = gpt.Read(newStorage(view, size), int(ss), int(ss))
		return err
	})
	if err != nil {
		if errors.Is(err, ErrFormat) {
			return nil, err
		}
		return nil, &FormatError{Off: ss, What: "GPT: " + err.Error()}
	}
	return gptPartitions(table, ss)
}

func gptPartitions(table *gpt.Table, ss int64) ([]partition, error) {
	parts := make([]partition, 0, len(table.Partitions))
	for _, gp := range table.Partitions {
		if gp == nil || gp.Type == gpt.Unused {
			continue
		}
		p := partition{number: gp.Index, ptype: string(gp.Type), name: gp.Name, guid: strings.ToUpper(gp.GUID)}
		if gp.End < gp.Start || gp.End >= uint64(math.MaxInt64/ss) {
			p.err = formatErr(0, "GPT entry %d: LBAs %d..%d", gp.Index, gp.Start, gp.End)
		} else {
			p.start = int64(gp.Start) * ss
			p.size = int64(gp.End-gp.Start+1) * ss
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// overlay reads r but shows data at off: a substitute sector.
type overlay struct {
	r    io.ReaderAt
	off  int64
	data []byte
}

func (o *overlay) ReadAt(p []byte, off int64) (int, error) {
	n, err := o.r.ReadAt(p, off)
	lo := max(off, o.off)
	hi := min(off+int64(n), o.off+int64(len(o.data)))
	if lo < hi {
		copy(p[lo-off:hi-off], o.data[lo-o.off:hi-o.off])
	}
	return n, err
}
