// Package guest finds the volumes of a virtual disk (partitions, LVM
// logical volumes, and what layers find inside or beside them: decrypted
// volumes, shadow copies) and the filesystems inside them, and exposes
// each readable one as an io/fs.FS. It owns the contract every filesystem
// reader implements (contract.go), the volume pipeline (layers.go) and the
// names volumes get.
package guest

import (
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/ckptfs/ckptfs/ldm"
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
	Table    string // "gpt", "mbr", "none", or "ldm" for a volume of Windows dynamic disks
	PartType string // GPT type GUID or MBR type byte, as text
	PartName string // GPT partition name, if any
	// PartGUID is a GPT partition's unique GUID (upper case);
	// DiskSignature the 32-bit signature of an MBR disk. Windows names a
	// volume by one of them (with Start on MBR) in its MountedDevices
	// registry key, which gives its drive letter (see DriveLetters).
	PartGUID      string
	DiskSignature uint32
	// DriveHint is the drive letter ("E:") the LDM database of a volume
	// of Windows dynamic disks records (see DriveLetters).
	DriveHint string
	FSType    string // "ntfs", "fat12", "fat16", "fat32", "exfat", "ext2", "ext3", "ext4", "iso9660", "btrfs", "xfs", "lvm2" (a physical volume), "swap" (a Linux swap area: no files), or "unknown"
	Label     string // filesystem label when known
	// FS reads the volume's files; nil when the filesystem is unknown or
	// could not be opened (Err says why).
	FS  fs.FS
	Err error
	// Journal says how a dirty filesystem log was treated (see Journaler):
	// "" when clean or not applicable.
	Journal string
	// Warning says what of a volume that opened cannot be read: the
	// devices of a btrfs filesystem over several disks that are missing.
	Warning string
	// Reader is the partition window over the disk.
	Reader io.ReaderAt

	// Clipped is set when the table says the partition runs past the end
	// of the disk; Size was cut to the disk end and the filesystem opened
	// over what is there.
	Clipped bool
	// TableFromBackup is set when the primary GPT was damaged and the
	// backup copy at the end of the disk was used.
	TableFromBackup bool
	// Remapped is set when the volume's bytes are not the disk's bytes
	// [Start, Start+Size): an LVM logical volume whose extents are not one
	// run of the disk, a decrypted volume, a shadow copy. Start is where
	// the volume lies (or begins) on the disk, and the disk offset of any
	// other byte cannot be derived from it: no views of the disk, and a
	// diff cannot rule the volume out by the disk ranges that changed.
	Remapped bool

	// Layers names the layers (see Layer) the volume's bytes went
	// through, outermost first: ["bitlocker"] for a decrypted BitLocker
	// volume, ["vss"] for a shadow copy of a plain volume.
	Layers []string
	// Encryption names the encryption of an encrypted volume
	// ("bitlocker"); Reader then gives the decrypted bytes, unless Locked.
	Encryption string
	// Locked is set for an encrypted volume no key opened: FS is nil and
	// Err wraps ErrLocked.
	Locked bool
	// Protectors lists the key protector types of an encrypted volume, in
	// its metadata's order ("password", "recovery password", "TPM", ...);
	// UnlockedBy is the one that opened it ("" while Locked).
	Protectors []string
	UnlockedBy string
	// ShadowOf is set on a shadow copy: the Name of the live volume it is
	// a past state of. The mount shows shadow copies under
	// checkpoints/<ck>/shadows/<Name>/ instead of beside the live volume.
	ShadowOf string
	// Created is when a shadow copy was taken (zero for other volumes).
	Created time.Time
	// Purpose says what a volume that holds no filesystem we read is for,
	// by its partition type or content ("Microsoft reserved", "BIOS boot",
	// "Windows dynamic disk (LDM)", with Err saying it is not read); ""
	// when FSType is known or nothing tells (purpose.go).
	Purpose string
	// ShadowID is a shadow copy's store identifier (as vshadowinfo and
	// the store file's name give it); ShadowOffline is set for a copy
	// Windows no longer exposes (vssadmin does not list it) whose data
	// is still there.
	ShadowID      string
	ShadowOffline bool

	// pendingShadows opens the shadow copies of a volume whose stores
	// keep their data on another volume, once every volume of the disk
	// is known (see resolveShadowStorage).
	pendingShadows func(peers []*Volume) ([]*Volume, error)

	disk      string // the diskName Volumes was given: which disk v lies on
	cryptUUID string // the UUID of the LUKS header v was decrypted through

	lvm *lvmGroup // the group of an LVM physical volume (FSType "lvm2")
	// lvmLV names the logical volume v is (or waits to be: see
	// JoinVolumeGroups).
	lvmLV *lvmRef
	// ldmDisk is the database of the dynamic disk v is a partition of
	// (its first partition of LDM type); ldmVol names the dynamic volume
	// v is (or waits to be: see JoinVolumeGroups).
	ldmDisk *ldm.Disk
	ldmVol  *ldmRef
	// btrfsJoin is set on the devices of a btrfs filesystem over several
	// volumes once JoinVolumeGroups opened it (btrfsjoin.go).
	btrfsJoin *btrfsJoin
	// inside is the logical volume v was found in or beside (when the
	// join opens it again from newer metadata, v goes).
	inside *Volume
	// lvmDepth counts the logical volumes v lies in: a physical volume
	// inside a logical volume is opened up to maxLayerDepth levels deep.
	lvmDepth int
	// outer is v as it was before the first unwrapping layer: the bytes
	// on the disk that the decrypted ones are made of (SourceRuns).
	outer *Volume
}

// DiskName is the name of the disk v lies on, as Volumes was given it
// (for a logical volume over several disks, the disk of its first
// extent).
func (v *Volume) DiskName() string { return v.disk }

// IsShadow reports whether v is a shadow copy of another volume.
func (v *Volume) IsShadow() bool { return v.ShadowOf != "" }

// Volumes reads the partition table of a disk image and opens every
// filesystem it recognises, with no keys (see Options.Volumes).
func Volumes(disk io.ReaderAt, size int64, diskName string) ([]*Volume, error) {
	return (*Options)(nil).Volumes(disk, size, diskName)
}

// Volumes reads the partition table of a disk image and opens every
// filesystem it recognises, through the layers (see Layer) with the keys
// of o; o may be nil. diskName prefixes the volume names. Each partition
// comes first, then the volumes found in it (LVM logical volumes) and
// beside it (shadow copies). Unknown or damaged filesystems are listed
// with Err set, not returned as errors; an error is returned only when
// the disk cannot be read at all.
func (o *Options) Volumes(disk io.ReaderAt, size int64, diskName string) ([]*Volume, error) {
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
		v := &Volume{Name: WholeDiskName(diskName), Size: size, Table: l.table, disk: diskName,
			Reader: io.NewSectionReader(disk, 0, size), FSType: fsUnknown}
		if l.err != nil {
			v.Err = fmt.Errorf("%s: %w", v.Name, l.err)
			return []*Volume{v}, nil
		}
		return resolveShadowStorage(append([]*Volume{v}, openVolume(v, o, true)...), o), nil
	}
	vols := make([]*Volume, 0, len(l.parts))
	dyn := readDynamicDisk(disk, size, l)
	for _, p := range l.parts {
		p.diskSig = l.diskSig
		if dyn != nil && isLDMPartition(l.table, p.ptype) {
			vols = append(vols, dyn.partition(disk, size, diskName, l.table, p))
			continue
		}
		v, more := partitionVolume(disk, size, diskName, l.table, p, o)
		vols = append(append(vols, v), more...)
	}
	if dyn != nil {
		vols = append(vols, dyn.volumes(diskName, o)...)
	}
	return resolveShadowStorage(vols, o), nil
}

// partitionVolume makes the Volume of one table entry and opens its
// filesystem; more are the volumes found in or beside it. Overlapping
// partitions are each opened on their own: the disk is read-only, so an
// overlap cannot do harm, and which of two overlapping entries is the
// real one cannot be known.
func partitionVolume(disk io.ReaderAt, size int64, diskName, table string, p partition, o *Options) (v *Volume, more []*Volume) {
	v = newPartitionVolume(disk, size, diskName, table, p)
	if v.Reader == nil {
		return v, nil
	}
	if table == "mbr" && p.number <= 4 && isExtendedText(p.ptype) {
		return v, nil // the container of the logical partitions
	}
	return v, openVolume(v, o, true)
}

// newPartitionVolume makes the Volume of one table entry, its Reader the
// partition's window (nil, with Err set, when the entry is unusable).
func newPartitionVolume(disk io.ReaderAt, size int64, diskName, table string, p partition) *Volume {
	v := &Volume{
		Name:            PartitionName(diskName, p.number),
		Number:          p.number,
		Start:           p.start,
		Size:            p.size,
		Table:           table,
		PartType:        p.ptype,
		PartName:        p.name,
		PartGUID:        p.guid,
		DiskSignature:   p.diskSig,
		FSType:          fsUnknown,
		TableFromBackup: p.fromBackup,
		disk:            diskName,
	}
	v.Clipped = checkRange(&p, size)
	v.Size = p.size
	if p.err != nil {
		v.Err = fmt.Errorf("%s: %w", v.Name, p.err)
		return v
	}
	v.Reader = io.NewSectionReader(disk, p.start, p.size)
	return v
}

func isExtendedText(t string) bool { return t == "0x05" || t == "0x0f" || t == "0x85" }

// openVolume runs the pipeline on v: the unwrapping layers, then the
// filesystem (or the volume group of an LVM physical volume) in what they
// leave, then, with sib, the sibling layers. It returns the volumes found
// inside v (logical volumes) and beside it (shadow copies), each opened.
func openVolume(v *Volume, o *Options, sib bool) []*Volume {
	probe, ok := unwrap(v, o)
	if !ok {
		return nil
	}
	kind := detectProbe(probe)
	if kind == fsUnknown && isBtrfs(v.Reader, v.Size) {
		kind = fsBtrfs // its magic lies past the probe
	}
	v.FSType = kind
	if kind == fsLVM2 {
		if v.lvmDepth >= maxLayerDepth {
			v.Err = fmt.Errorf("%s: LVM physical volume nested in %d logical volumes: %w", v.Name, v.lvmDepth, ErrUnsupported)
			return nil
		}
		g, err := readLVM(v.Reader, v.Size, probe)
		if err != nil {
			v.Err = fmt.Errorf("%s: %w", v.Name, err)
		}
		v.lvm = g
		return logicalVolumes(v, o)
	}
	if kind == fsUnknown {
		v.Purpose = volumePurpose(v, probe)
		if err := purposeErr(v.Purpose); err != nil {
			v.Err = fmt.Errorf("%s: %w", v.Name, err)
			return nil
		}
	}
	fsys, label, err := openFS(kind, v.Reader, v.Size, probe, o)
	if err != nil {
		v.Err = fmt.Errorf("%s: %w", v.Name, err)
	} else {
		v.FS, v.Label = fsys, label
		if j, ok := fsys.(Journaler); ok {
			v.Journal = j.JournalState()
		}
	}
	if !sib {
		return nil
	}
	return siblings(v, o)
}

// logicalVolumes opens the logical volumes of an LVM physical volume
// whose first extent lies on it, each named after the partition, the
// group and the volume. One that also has extents on other physical
// volumes is listed with an error, waiting for JoinVolumeGroups; one
// that starts on another physical volume is listed beside that one.
func logicalVolumes(pv *Volume, o *Options) []*Volume {
	g := pv.lvm
	if g == nil {
		return nil
	}
	var out []*Volume
	for _, lv := range g.volumes {
		if lv.home != g.self {
			continue
		}
		v := newLogicalVolume(pv, g, lv.name)
		out = append(out, v)
		if lv.err != nil {
			v.Err = fmt.Errorf("%s: lvm2 volume %s/%s: %w", v.Name, g.name, lv.name, lv.err)
			continue
		}
		if !g.onSelf(lv) {
			v.lvmLV.pending = true
			v.Err = fmt.Errorf("%s: lvm2 volume %s/%s: %w", v.Name, g.name, lv.name, lvmElsewhere(g, lv))
			continue
		}
		pvs := map[int]lvmExtents{g.self: {r: pv.Reader, size: pv.Size, peStart: g.pvs[g.self].peStart, vol: pv}}
		out = append(out, openLogicalVolume(v, pv, pvs, g, lv, o)...)
	}
	return out
}

// newLogicalVolume is the Volume of logical volume lv of g, listed beside
// the physical volume pv, not yet opened.
func newLogicalVolume(pv *Volume, g *lvmGroup, lv string) *Volume {
	return &Volume{Name: LogicalVolumeName(pv.Name, g.name, lv), Number: pv.Number, Start: pv.Start,
		Table: pv.Table, PartType: fsLVM2, PartName: g.name + "/" + lv, FSType: fsUnknown,
		lvmDepth: pv.lvmDepth + 1, disk: pv.disk, lvmLV: &lvmRef{group: lvmGroupKey(g), lv: lv, meta: g}}
}

// openLogicalVolume opens v, logical volume lv of g, over the physical
// volumes pvs (by their index in g.pvs) of which home is the one holding its
// first extent; it returns what openVolume finds inside and beside v.
func openLogicalVolume(v, home *Volume, pvs map[int]lvmExtents, g *lvmGroup, lv lvmVolume, o *Options) []*Volume {
	r, err := newLVMReader(pvs, g, lv)
	if err != nil {
		v.Err = fmt.Errorf("%s: %w", v.Name, err)
		return nil
	}
	v.Start, v.Size, v.Reader, v.Remapped = home.Start+r.start(), r.size, r, home.Remapped || !r.contiguous
	v.Layers = home.Layers
	found := openVolume(v, o, true)
	for _, f := range found {
		if f.inside == nil {
			f.inside = v
		}
	}
	return found
}
