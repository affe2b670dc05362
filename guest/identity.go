package guest

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// fsSwap is the FSType of a Linux swap area: no files, but a UUID and a
// label /etc/fstab may name it by.
const fsSwap = "swap"

// Identity is how Linux names a volume: the values blkid reports for its
// device and /etc/fstab uses in UUID=, LABEL=, PARTUUID= and PARTLABEL=
// (and /dev/disk/by-*/), in blkid's spelling. Empty fields are not known
// or do not apply.
type Identity struct {
	// UUID of the filesystem: lower-case 8-4-4-4-12 for ext2/3/4, XFS,
	// btrfs (its fsid) and swap; "XXXX-XXXX" (the volume id, or serial) for FAT and exFAT;
	// 16 upper-case hex digits (the serial number) for NTFS.
	UUID  string
	Label string
	// Subvolume is the btrfs subvolume at the volume's root (the
	// default one, or 5 for a "-toplevel" volume) and SubvolumePath its
	// path below the top level as subvol= names it ("" for 5).
	Subvolume     uint64
	SubvolumePath string
	// PartUUID is a GPT partition's unique GUID in lower case, or an MBR
	// partition's "SSSSSSSS-NN" (disk signature, partition number);
	// PartLabel is a GPT partition's name.
	PartUUID  string
	PartLabel string
	// VG and LV name an LVM logical volume (/dev/VG/LV).
	VG, LV string
	// CryptUUID is the UUID of the LUKS header of an encrypted volume
	// (blkid's UUID of the partition, crypttab's UUID=, the luks-<UUID>
	// of /dev/mapper/); UUID and Label are then the decrypted
	// filesystem's.
	CryptUUID string
}

// Identity reads v's identity from its filesystem (or swap header) and
// its partition table entry. A shadow copy has none: it shares its live
// volume's.
func (v *Volume) Identity() Identity {
	if v.IsShadow() {
		return Identity{}
	}
	id := Identity{Label: v.Label, CryptUUID: v.cryptUUID}
	id.UUID, id.Subvolume, id.SubvolumePath = fsUUID(v)
	if v.FSType == fsSwap {
		id.UUID, id.Label = swapIdentity(v)
	}
	switch {
	case v.PartType == fsLVM2 && v.Table != "" && strings.Contains(v.PartName, "/"):
		id.VG, id.LV, _ = strings.Cut(v.PartName, "/")
	case besideVolume(v):
		// A volume a sibling layer found beside a partition (a btrfs
		// top level): the partition is the other volume's.
	case v.Table == "gpt" && v.PartGUID != "":
		id.PartUUID, id.PartLabel = strings.ToLower(v.PartGUID), v.PartName
	case v.Table == "mbr" && v.Number > 0:
		id.PartUUID = fmt.Sprintf("%08x-%02x", v.DiskSignature, v.Number)
	}
	return id
}

// besideVolume reports whether v came from a sibling layer, rather than
// being a partition (decrypted in place or not).
func besideVolume(v *Volume) bool {
	for _, name := range v.Layers {
		for _, l := range layers {
			if l.Name == name && l.Siblings != nil {
				return true
			}
		}
	}
	return false
}

// fsUUID asks the filesystem reader behind v.FS for its UUID.
func fsUUID(v *Volume) (uuid string, subvol uint64, subvolPath string) {
	switch f := v.FS.(type) {
	case *extFS:
		return uuidText(f.UUID()), 0, ""
	case *xfsFS:
		return uuidText(f.UUID()), 0, ""
	case btrfsFS:
		subvol = f.SubvolumeID()
		subvolPath, _ = f.Volume().SubvolumePath(subvol)
		return uuidText(f.Volume().FSID()), subvol, subvolPath
	case *ntfsFS:
		return fmt.Sprintf("%016X", f.Geometry().Serial), 0, ""
	case *exfatFS:
		return f.serial(), 0, ""
	case *diskFS:
		if f.fat != nil {
			return fatVolumeID(v), 0, ""
		}
	}
	return "", 0, ""
}

// uuidText formats a UUID stored in byte order, as blkid prints it.
func uuidText(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// fatVolumeID reads the volume id of a FAT boot sector (in the extended
// BPB: byte 0x27 on FAT12/16, 0x43 on FAT32), "" when the boot sector
// has no extended BPB (signature 0x28 or 0x29 before it).
func fatVolumeID(v *Volume) string {
	var b [512]byte
	if v.Reader == nil || readFull(v.Reader, v.Size, b[:], 0) != nil {
		return ""
	}
	sigAt := 0x26
	if v.FSType == fsFAT32 {
		sigAt = 0x42
	}
	if b[sigAt] != 0x28 && b[sigAt] != 0x29 {
		return ""
	}
	id := binary.LittleEndian.Uint32(b[sigAt+1:])
	return fmt.Sprintf("%04X-%04X", id>>16, id&0xffff)
}

// Swap header (the kernel's union swap_header): the signature ends the
// first page; the version 1 header after 1 KiB of boot bits holds the
// UUID and the label.
const (
	swapUUIDAt  = 1024 + 12
	swapLabelAt = 1024 + 28
	swapLabelN  = 16
)

// swapPage finds the swap signature at the end of a page of 4, 8 or 16
// KiB (the page size of the guest that made it; the probe holds no 64 KiB
// page); 0 when none is there.
func swapPage(buf []byte) int {
	for _, page := range []int{4096, 8192, 16384} {
		if len(buf) >= page && string(buf[page-10:page]) == "SWAPSPACE2" {
			return page
		}
	}
	return 0
}

// swapIdentity reads the UUID and label of a swap area.
func swapIdentity(v *Volume) (uuid, label string) {
	b := make([]byte, swapLabelAt+swapLabelN)
	if v.Reader == nil || readFull(v.Reader, v.Size, b, 0) != nil {
		return "", ""
	}
	return swapHeader(b)
}

// swapHeader decodes the UUID and label of a swap header's first bytes.
func swapHeader(b []byte) (uuid, label string) {
	if len(b) < swapLabelAt+swapLabelN {
		return "", ""
	}
	var u [16]byte
	copy(u[:], b[swapUUIDAt:])
	if u != [16]byte{} {
		uuid = uuidText(u)
	}
	l := b[swapLabelAt : swapLabelAt+swapLabelN]
	if i := bytes.IndexByte(l, 0); i >= 0 {
		l = l[:i]
	}
	return uuid, string(l)
}
