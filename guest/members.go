package guest

import (
	"fmt"
	"io"

	"github.com/ckptfs/ckptfs/btrfs"
)

// Which disks belong together. A VM's configuration says which disks are
// its; disk files copied without it (a backup of the disks alone) only
// say it by what they hold: the physical volumes of one LVM volume group
// carry the group's UUID. GroupMembers reads that from a disk without
// opening any filesystem, so that the catalog can put such disks in one
// VM (JoinVolumeGroups then opens the volumes over them).

// GroupMember is one volume of a disk that is a member of a group of
// volumes over several disks: an LVM physical volume, a Windows dynamic
// disk (ldm.go), or a device of a btrfs filesystem over several.
type GroupMember struct {
	// Group is what ties the members together: "lvm2:" and the volume
	// group's UUID ("btrfs:" and the fsid for a btrfs device); "" for a physical volume without a metadata area,
	// whose group is the one whose members list it (Lists).
	Group string
	// ID is the member's own identity ("btrfs:", fsid, ":", devid for a
	// btrfs device): "lvm2:" and the physical volume's
	// UUID. Two disks holding one ID are copies of one disk.
	ID string
	// Lists holds the IDs of the members the group's metadata names,
	// this one included.
	Lists []string
	// Desc names it for messages: `physical volume pv0 (UUID ...) of
	// volume group "grown"`.
	Desc string
	// Seqno is the sequence number of the group's metadata it holds.
	Seqno int64
}

// GroupMembers returns the members of volume groups a disk holds: the
// LVM physical volumes that are its partitions or the whole disk, and the
// devices of btrfs filesystems over several devices. Only
// the partition table and each partition's first bytes and LVM metadata
// are read; a physical volume inside an encrypted volume or inside a
// logical volume is not seen. A disk whose partition table cannot be
// read is an error; a physical volume whose metadata cannot be read is
// left out.
func GroupMembers(disk io.ReaderAt, size int64) ([]GroupMember, error) {
	if size < 0 {
		return nil, fmt.Errorf("negative disk size %d: %w", size, ErrFormat)
	}
	l, err := readLayout(disk, size)
	if err != nil {
		return nil, err
	}
	var out []GroupMember
	for _, w := range volumeWindows(l, size) {
		r := io.NewSectionReader(disk, w[0], w[1])
		if m, ok := btrfsMember(r, w[1]); ok {
			out = append(out, m)
			continue
		}
		probe := readProbe(r, w[1])
		if !hasLVMLabel(probe) {
			continue
		}
		g, err := readLVM(r, w[1], probe)
		if err != nil {
			continue
		}
		out = append(out, g.member())
	}
	if m, ok := dynamicMember(disk, size, l); ok {
		out = append(out, m)
	}
	return out, nil
}

// btrfsMember is the GroupMember a device of a btrfs filesystem over
// several devices is: its group the fsid, its ID the fsid and devid, and
// it lists devids 1 to the device count (the superblock names no others;
// the chunk tree, which does, may lie on other devices).
func btrfsMember(r io.ReaderAt, size int64) (GroupMember, bool) {
	if !isBtrfs(r, size) {
		return GroupMember{}, false
	}
	id, err := btrfs.Identify(r, size)
	if err != nil || id.NumDevices < 2 {
		return GroupMember{}, false
	}
	fsid := uuidText(id.FSID)
	m := GroupMember{Group: "btrfs:" + fsid, ID: fmt.Sprintf("btrfs:%s:%d", fsid, id.DevID), Seqno: int64(id.Generation),
		Desc: fmt.Sprintf("device %d of btrfs filesystem %s", id.DevID, fsid)}
	for d := uint64(1); d <= min(id.NumDevices, maxListedDevices); d++ {
		m.Lists = append(m.Lists, fmt.Sprintf("btrfs:%s:%d", fsid, d))
	}
	return m, true
}

// maxListedDevices bounds the devices a btrfs member lists.
const maxListedDevices = 64

// volumeWindows lists where a disk of layout l may hold a physical
// volume: each usable partition, or the whole disk when it has no table.
func volumeWindows(l layout, size int64) [][2]int64 {
	if l.table == "none" || l.err != nil {
		return [][2]int64{{0, size}}
	}
	var windows [][2]int64
	for _, p := range l.parts {
		checkRange(&p, size)
		if p.err != nil || (l.table == "mbr" && p.number <= 4 && isExtendedText(p.ptype)) {
			continue
		}
		windows = append(windows, [2]int64{p.start, p.size})
	}
	return windows
}

// member is what g, read from one of its physical volumes, says of it.
func (g *lvmGroup) member() GroupMember {
	if g.noMeta {
		return GroupMember{ID: "lvm2:" + g.pvs[0].uuid, Desc: fmt.Sprintf("physical volume (UUID %s) without metadata", lvmDashed(g.pvs[0].uuid))}
	}
	m := GroupMember{Group: "lvm2:" + lvmGroupKey(g), ID: "lvm2:" + g.pvs[g.self].uuid, Seqno: g.seqno,
		Desc: fmt.Sprintf("physical volume %s of volume group %q", g.pvDesc(g.self), g.name)}
	for _, p := range g.pvs {
		m.Lists = append(m.Lists, "lvm2:"+p.uuid)
	}
	return m
}

// lvmDashed writes a 32-character LVM UUID as LVM's tools do, in groups
// of 6, 4, 4, 4, 4, 4 and 6; anything else is returned as it is.
func lvmDashed(uuid string) string {
	if len(uuid) != 32 {
		return uuid
	}
	return uuid[:6] + "-" + uuid[6:10] + "-" + uuid[10:14] + "-" + uuid[14:18] + "-" + uuid[18:22] + "-" + uuid[22:26] + "-" + uuid[26:]
}
