// Package guest finds the partitions of a virtual disk and the filesystems
// inside them, and exposes each readable one as an io/fs.FS.
package guest

import (
	"fmt"
	"io"
	"io/fs"
)

// Volume is one partition (or a whole unpartitioned disk) and what it holds.
type Volume struct {
	// Name is the directory name in the mount: "<disk>-p<N>" with N the
	// 1-based partition number as in the table, or "<disk>-vol" for a disk
	// without a partition table.
	Name     string
	Number   int    // partition number, 0 for a whole-disk volume
	Start    int64  // byte offset on the disk
	Size     int64  // bytes
	Table    string // "gpt", "mbr" or "none"
	PartType string // GPT type GUID or MBR type byte, as text
	PartName string // GPT partition name, if any
	FSType   string // "ntfs", "fat12", "fat16", "fat32", "ext2", "ext3", "ext4", "iso9660", "lvm2" (a physical volume), or "unknown"
	Label    string // filesystem label when known
	// FS reads the volume's files; nil when the filesystem is unknown or
	// could not be opened (Err says why).
	FS  fs.FS
	Err error
	// Reader is the partition window over the disk.
	Reader io.ReaderAt

	// Clipped is set when the table says the partition runs past the end
	// of the disk; Size was cut to the disk end and the filesystem opened
	// over what is there.
	Clipped bool
	// TableFromBackup is set when the primary GPT was damaged and the
	// backup copy at the end of the disk was used.
	TableFromBackup bool
	// Remapped is set for an LVM logical volume whose extents are not one
	// run of the disk: Start is where its first byte lies, and the disk
	// offset of any other byte cannot be derived from it.
	Remapped bool

	lvm *lvmGroup // the group of an LVM physical volume (FSType "lvm2")
}

// Volumes reads the partition table of a disk image and opens every
// filesystem it recognises. diskName prefixes the volume names.
// Unknown or damaged filesystems are listed with Err set, not returned as
// errors; an error is returned only when the disk cannot be read at all.
func Volumes(disk io.ReaderAt, size int64, diskName string) ([]*Volume, error) {
	if size < 0 {
		return nil, fmt.Errorf("%s: negative disk size %d: %w", diskName, size, ErrFormat)
	}
	l, err := readLayout(disk, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", diskName, err)
	}
	if l.table == "none" || l.err != nil {
		// No table, or a table too damaged to list: the whole disk is one
		// volume, carrying the table error if there was one.
		v := &Volume{Name: diskName + "-vol", Size: size, Table: l.table,
			Reader: io.NewSectionReader(disk, 0, size), FSType: fsUnknown}
		if l.err != nil {
			v.Err = fmt.Errorf("%s: %w", v.Name, l.err)
			return []*Volume{v}, nil
		}
		openVolume(v)
		return append([]*Volume{v}, logicalVolumes(v)...), nil
	}
	vols := make([]*Volume, 0, len(l.parts))
	for _, p := range l.parts {
		v := partitionVolume(disk, size, diskName, l.table, p)
		vols = append(append(vols, v), logicalVolumes(v)...)
	}
	return vols, nil
}

// partitionVolume makes the Volume of one table entry and opens its
// filesystem. Overlapping partitions are each opened on their own: the
// disk is read-only, so an overlap cannot do harm, and which of two
// overlapping entries is the real one cannot be known.
func partitionVolume(disk io.ReaderAt, size int64, diskName, table string, p partition) *Volume {
	v := &Volume{
		Name:            fmt.Sprintf("%s-p%d", diskName, p.number),
		Number:          p.number,
		Start:           p.start,
		Size:            p.size,
		Table:           table,
		PartType:        p.ptype,
		PartName:        p.name,
		FSType:          fsUnknown,
		TableFromBackup: p.fromBackup,
	}
	v.Clipped = checkRange(&p, size)
	v.Size = p.size
	if p.err != nil {
		v.Err = fmt.Errorf("%s: %w", v.Name, p.err)
		return v
	}
	v.Reader = io.NewSectionReader(disk, p.start, p.size)
	if table == "mbr" && p.number <= 4 && isExtendedText(p.ptype) {
		return v // the container of the logical partitions
	}
	openVolume(v)
	return v
}

func isExtendedText(t string) bool { return t == "0x05" || t == "0x0f" || t == "0x85" }

// openVolume detects and opens the filesystem in v.Reader, or reads the
// volume group of an LVM physical volume.
func openVolume(v *Volume) {
	kind, probe := detectFS(v.Reader, v.Size)
	v.FSType = kind
	if kind == fsLVM2 {
		g, err := readLVM(v.Reader, v.Size, probe)
		if err != nil {
			v.Err = fmt.Errorf("%s: %w", v.Name, err)
		}
		v.lvm = g
		return
	}
	fsys, label, err := openFS(kind, v.Reader, v.Size, probe)
	if err != nil {
		v.Err = fmt.Errorf("%s: %w", v.Name, err)
		return
	}
	v.FS, v.Label = fsys, label
}

// logicalVolumes opens the logical volumes of an LVM physical volume, each
// named after the partition, the group and the volume.
func logicalVolumes(pv *Volume) []*Volume {
	if pv.lvm == nil {
		return nil
	}
	var out []*Volume
	for _, lv := range pv.lvm.volumes {
		v := &Volume{Name: pv.Name + "-" + pv.lvm.name + "-" + lv.name, Number: pv.Number, Start: pv.Start,
			Table: pv.Table, PartType: fsLVM2, PartName: pv.lvm.name + "/" + lv.name, FSType: fsUnknown}
		out = append(out, v)
		if lv.err != nil {
			v.Err = fmt.Errorf("%s: lvm2 volume %s/%s: %w", v.Name, pv.lvm.name, lv.name, lv.err)
			continue
		}
		r, err := newLVMReader(pv.Reader, pv.Size, pv.lvm, lv)
		if err != nil {
			v.Err = fmt.Errorf("%s: %w", v.Name, err)
			continue
		}
		v.Start, v.Size, v.Reader, v.Remapped = pv.Start+r.start(), r.size, r, !r.contiguous
		openVolume(v)
	}
	return out
}
