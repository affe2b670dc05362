package guest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/filesystem/fat12"
	"github.com/diskfs/go-diskfs/filesystem/fat16"
	"github.com/diskfs/go-diskfs/filesystem/fat32"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// openFS opens the filesystem of the given kind on a partition window.
// probe holds the first bytes of the window as read by detectFS.
func openFS(kind string, r io.ReaderAt, size int64, probe []byte, o *Options) (fs.FS, string, error) {
	noRecovery := o != nil && o.NoRecovery
	var fat *fatTable
	var iso *isoGuard
	switch kind {
	case fsNTFS:
		return openNTFS(r, size)
	case fsBtrfs:
		return openBtrfs(r, size, noRecovery)
	case fsXFS:
		return openXFS(r, size, noRecovery)
	case fsExFAT:
		return openExFAT(r, size)
	case fsFAT12, fsFAT16, fsFAT32:
		if err := checkFAT(kind, probe, size); err != nil {
			return nil, "", err
		}
		var err error
		if fat, err = loadFAT(kind, r, size, probe); err != nil {
			return nil, "", err
		}
	case fsExt4, fsExt2, fsExt3:
		return openExt(r, size, noRecovery)
	case fsSwap:
		_, label := swapHeader(probe)
		return nil, label, nil // no files; the label is what fstab may name
	case fsISO9660:
		if err := checkISO(probe, size); err != nil {
			return nil, "", err
		}
		iso = newISOGuard(size)
	default:
		return nil, "", nil
	}
	var inner filesystem.FileSystem
	st := newStorage(r, size)
	innerSize := size
	if fat != nil {
		view, n, ok := newTwoFATView(r, size, probe)
		if !ok {
			return nil, "", formatErr(19, "%s: total sector count does not fit its FATs", kind)
		}
		st, innerSize = newStorage(view, n), n
	}
	if iso != nil {
		st.inspect = iso.inspect
	}
	err := guard(kind, func() (err error) {
		inner, err = readDiskfs(kind, st, innerSize)
		return err
	})
	if iso != nil && err != nil && iso.refusal() != nil {
		err = iso.refusal()
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", kind, asFormat(err))
	}
	d := newDiskFS(inner, kind)
	d.fat, d.iso, d.r, d.size = fat, iso, r, size
	return d, d.label(), nil
}

// readDiskfs calls the go-diskfs reader for kind.
func readDiskfs(kind string, st *storage, size int64) (filesystem.FileSystem, error) {
	switch kind {
	case fsFAT12:
		return fat12.Read(st, size, 0, 0)
	case fsFAT16:
		return fat16.Read(st, size, 0, 0)
	case fsFAT32:
		return fat32.Read(st, size, 0, 512)
	case fsISO9660:
		return iso9660.Read(st, size, 0, 2048)
	}
	return nil, fmt.Errorf("%s: %w", kind, ErrUnsupported)
}

// asFormat marks a plain go-diskfs error as a content error: by the time
// go-diskfs runs we have read the magic and checked the sizes, so what it
// rejects is a damaged filesystem. (go-diskfs formats most causes with %v,
// so a disk I/O error underneath cannot be told apart here; the partition
// table was read through the same disk just before, which makes that rare.)
func asFormat(err error) error {
	if errors.Is(err, ErrFormat) || errors.Is(err, ErrUnsupported) {
		return err
	}
	return &FormatError{What: err.Error()}
}

// checkFAT verifies the BPB sizes that go-diskfs allocates from (the FAT is
// read whole, twice for FAT32) against the partition size.
func checkFAT(kind string, boot []byte, size int64) error {
	p := parseBPB(boot)
	fatBytes := int64(p.fatSectors) * int64(p.bytesPerSector)
	if fatBytes*int64(p.fats) > size {
		return formatErr(22, "%s: FATs of %d bytes do not fit in %d bytes", kind, fatBytes, size)
	}
	return nil
}

// checkISO accepts only 2048-byte logical blocks, the size go-diskfs reads.
// The volume must hold the whole first descriptor: detectFS matched on its
// first bytes only.
func checkISO(b []byte, size int64) error {
	if size < 0x8800 || len(b) < 0x8800 {
		return formatErr(0x8000, "ISO 9660 volume of %d bytes", size)
	}
	if bs := binary.LittleEndian.Uint16(b[0x8000+128:]); bs != 2048 {
		return fmt.Errorf("ISO 9660 logical block size %d: %w", bs, ErrUnsupported)
	}
	// go-diskfs allocates the path table and the root directory whole, at
	// the sizes the descriptor gives.
	for _, ext := range []struct {
		what      string
		lenAt, at int
	}{{"path table", 132, 140}, {"root directory", 156 + 10, 156 + 2}} {
		n := int64(binary.LittleEndian.Uint32(b[0x8000+ext.lenAt:]))
		at := int64(binary.LittleEndian.Uint32(b[0x8000+ext.at:])) * 2048
		if n > size || at > size-n {
			return formatErr(0x8000+int64(ext.lenAt), "ISO 9660 %s of %d bytes at byte %d lies outside the volume", ext.what, n, at)
		}
	}
	return nil
}
