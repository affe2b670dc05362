package guest

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ckptfs/ckptfs/ldm"
)

// Windows dynamic disks. A server converted to a virtual machine
// (Disk2vhd, a P2V tool) often carries disks Windows made "dynamic": the
// partition table then holds one partition of type 0x42 (MBR) or the "LDM
// metadata" and "LDM data" partitions (GPT), and the volumes are runs of
// sectors the Logical Disk Manager database lists (package ldm). Volumes
// lists the table's LDM partitions as such (Purpose purposeLDM, no
// filesystem looked for: a volume starting at the data area's first
// sector would otherwise pass for the partition's filesystem), then each
// dynamic volume whose first extent is on the disk, opened like a
// partition when all its extents are there. One with extents on other
// disks (a spanned, striped or RAID-5 volume, an extended one) waits, with an
// error wrapping ErrMissingPV, for JoinVolumeGroups to open it with the
// disks of the whole checkpoint, as LVM volumes over several disks do.

// ldmRef names a dynamic volume: its group's GUID and its name. pending
// is set while it waits for disks of the group in other files.
type ldmRef struct {
	group, name string
	pending     bool
}

// LDM partition types, as Volume.PartType has them.
const (
	gptLDMMetadata = "5808C8AA-7E8F-42E0-85D2-E1E90434CFB3"
	gptLDMData     = "AF9B60A0-1431-4F62-BC68-3311714A69AD"
)

// isLDMPartition reports whether a table entry is a dynamic disk's.
func isLDMPartition(table, ptype string) bool {
	switch table {
	case "mbr":
		return ptype == "0x42"
	case "gpt":
		t := strings.ToUpper(ptype)
		return t == gptLDMMetadata || t == gptLDMData
	}
	return false
}

// dynamicDisk is what one disk's LDM database says, or why it could not
// be read.
type dynamicDisk struct {
	d       *ldm.Disk
	err     error
	carrier *Volume // the first LDM partition: holds d for JoinVolumeGroups
}

// readDynamicDisk reads the LDM database of a disk whose table l has an
// LDM partition; nil when it has none.
func readDynamicDisk(disk io.ReaderAt, size int64, l layout) *dynamicDisk {
	for _, p := range l.parts {
		if isLDMPartition(l.table, p.ptype) {
			d, err := ldm.NewDisk(disk, size)
			return &dynamicDisk{d: d, err: err}
		}
	}
	return nil
}

// partition makes the Volume of LDM partition p: its purpose, and the
// database's error when it could not be read.
func (dd *dynamicDisk) partition(disk io.ReaderAt, size int64, diskName, table string, p partition) *Volume {
	v := newPartitionVolume(disk, size, diskName, table, p)
	v.Purpose = purposeLDM
	if v.Err != nil {
		return v
	}
	if dd.err != nil {
		v.Err = fmt.Errorf("%s: %s: %w", v.Name, purposeLDM, dd.err)
		return v
	}
	if dd.carrier == nil {
		dd.carrier, v.ldmDisk = v, dd.d
	}
	return v
}

// volumes lists the dynamic volumes whose first extent lies on this disk,
// each opened when all its extents are on it, and what is found in them.
func (dd *dynamicDisk) volumes(diskName string, o *Options) []*Volume {
	if dd.d == nil || dd.carrier == nil {
		return nil
	}
	g, err := ldm.NewGroup(dd.d)
	if err != nil {
		return nil // unreachable: one disk makes a group
	}
	var out []*Volume
	for _, lv := range g.Volumes() {
		if ldmHome(g.DB, lv) != dd.d.GUID {
			continue
		}
		v := newDynamicVolume(dd.carrier, g, lv)
		out = append(out, openDynamicVolume(v, g, lv, o)...)
	}
	return out
}

// ldmHome is the GUID of the disk a dynamic volume is listed beside: the
// disk of its first extent (of its first plex), or for a volume of no
// extents the group's first disk.
func ldmHome(db *ldm.Database, v *ldm.Volume) string {
	for _, p := range v.Plexes {
		for _, e := range p.Extents {
			return e.DiskGUID
		}
	}
	if len(db.Disks) > 0 {
		return db.Disks[0].GUID
	}
	return ""
}

// newDynamicVolume is the Volume of dynamic volume lv of g, listed
// beside the LDM partition beside, not yet opened.
func newDynamicVolume(beside *Volume, g *ldm.Group, lv *ldm.Volume) *Volume {
	return &Volume{Name: DynamicVolumeName(beside.disk, lv.Name), Start: beside.Start, Table: "ldm",
		PartType: "ldm:" + lv.Type.String(), PartName: g.Name + "/" + lv.Name, PartGUID: strings.ToUpper(lv.GUID),
		DriveHint: lv.DriveHint, FSType: fsUnknown, disk: beside.disk, lvmDepth: beside.lvmDepth,
		ldmVol: &ldmRef{group: g.GUID, name: lv.Name}}
}

// openDynamicVolume opens v, volume lv of g, from the disks g holds: it
// returns v and what openVolume finds inside and beside it, or v with
// the reason it cannot be read (waiting for the group's other disks when
// one is missing).
func openDynamicVolume(v *Volume, g *ldm.Group, lv *ldm.Volume, o *Options) []*Volume {
	r, err := g.Open(lv)
	if err != nil {
		if errors.Is(err, ldm.ErrMissingDisk) {
			v.ldmVol.pending = true
			err = fmt.Errorf("extents on dynamic disk %s, on none of the disks given: %w", missingDisks(g, lv), ErrMissingPV)
		}
		v.Err = fmt.Errorf("%s: dynamic volume %s: %w", v.Name, v.PartName, err)
		return []*Volume{v}
	}
	v.ldmVol.pending = false
	d, at := r.Start()
	v.Start, v.Size, v.Reader = at, r.Size(), r
	v.Remapped = !r.Contiguous()
	if disk := g.Disk(ldmHome(g.DB, lv)); disk != d {
		v.Remapped = true // a mirror read from a plex on another disk
	}
	found := openVolume(v, o, true)
	for _, f := range found {
		if f.inside == nil {
			f.inside = v
		}
	}
	return append([]*Volume{v}, found...)
}

// missingDisks names the disks lv has extents on that g lacks, as the
// database names them: "Disk2 (GUID ...)".
func missingDisks(g *ldm.Group, lv *ldm.Volume) string {
	var out []string
	seen := map[string]bool{}
	for _, p := range lv.Plexes {
		for _, e := range p.Extents {
			if g.Disk(e.DiskGUID) == nil && !seen[e.DiskGUID] {
				seen[e.DiskGUID] = true
				out = append(out, fmt.Sprintf("%s (GUID %s)", e.Disk, e.DiskGUID))
			}
		}
	}
	return strings.Join(out, ", ")
}

// joinDynamic opens the dynamic volumes waiting for other disks over the
// disks of their group found in vols (see JoinVolumeGroups), and lists
// the volumes whose first disk is missing beside another disk of their
// group.
func (o *Options) joinDynamic(vols []*Volume) []*Volume {
	disks := map[string][]*ldm.Disk{}
	carriers := map[string]*Volume{} // each group's first LDM partition, in vols' order
	var order []string
	for _, v := range vols {
		if v.ldmDisk == nil {
			continue
		}
		key := v.ldmDisk.GroupGUID
		if carriers[key] == nil {
			carriers[key] = v
			order = append(order, key)
		}
		disks[key] = append(disks[key], v.ldmDisk)
	}
	if len(order) == 0 {
		return vols
	}
	groups := map[string]*ldm.Group{}
	errs := map[string]error{}
	for _, key := range order {
		groups[key], errs[key] = ldm.NewGroup(disks[key]...)
	}
	listed := map[ldmRef]bool{}
	out := make([]*Volume, 0, len(vols))
	for _, v := range vols {
		r := v.ldmVol
		if r != nil {
			listed[ldmRef{group: r.group, name: r.name}] = true
		}
		if r != nil && !r.pending && groups[r.group] != nil && groups[r.group].Disputed(r.name) != nil {
			g := groups[r.group]
			// The group's disks hold different databases under one
			// sequence number, and they place this volume, which its
			// own disk's copy opened, differently.
			d := *v
			d.Reader, d.FS, d.FSType, d.Label, d.Journal = nil, nil, fsUnknown, "", ""
			d.Err = fmt.Errorf("%s: dynamic volume %s: %w", v.Name, v.PartName, g.Disputed(r.name))
			out = append(out, &d)
			continue
		}
		if r == nil || !r.pending || (groups[r.group] == nil && errs[r.group] == nil) {
			out = append(out, v)
			continue
		}
		out = append(out, reopenDynamic(v, groups[r.group], errs[r.group], o)...)
	}
	for _, key := range order {
		g := groups[key]
		if g == nil {
			continue
		}
		var added []*Volume
		for _, lv := range g.Volumes() {
			if listed[ldmRef{group: key, name: lv.Name}] {
				continue
			}
			v := newDynamicVolume(carriers[key], g, lv)
			added = append(added, openDynamicVolume(v, g, lv, o)...)
		}
		if len(added) > 0 {
			out = insertAfterDisk(out, carriers[key], added)
		}
	}
	return out
}

// reopenDynamic replaces the waiting volume w by the volume opened over
// group g's disks (and what lies in it), or by w with the reason it still
// cannot be read.
func reopenDynamic(w *Volume, g *ldm.Group, gerr error, o *Options) []*Volume {
	v := *w
	v.ldmVol = &ldmRef{group: w.ldmVol.group, name: w.ldmVol.name, pending: true}
	if gerr != nil {
		v.Err = fmt.Errorf("%s: dynamic volume %s: %w", v.Name, v.PartName, gerr)
		return []*Volume{&v}
	}
	for _, lv := range g.Volumes() {
		if lv.Name == v.ldmVol.name {
			v.Err, v.FS, v.FSType, v.Label, v.Journal = nil, nil, fsUnknown, "", ""
			return openDynamicVolume(&v, g, lv, o)
		}
	}
	v.Err = fmt.Errorf("%s: dynamic volume %s: not in the group's newest database (sequence number %d): %w",
		v.Name, v.PartName, g.DB.Seq, ErrFormat)
	return []*Volume{&v}
}

// dynamicMember is the GroupMember a dynamic disk is (see GroupMembers):
// its disk group ("ldm:" and the group's GUID), itself ("ldm:" and its
// GUID), the disks its database lists, and the database's committed
// sequence number. ok is false for a disk that is not dynamic or whose
// database cannot be read.
func dynamicMember(disk io.ReaderAt, size int64, l layout) (GroupMember, bool) {
	if l.table == "none" || l.err != nil {
		return GroupMember{}, false
	}
	dd := readDynamicDisk(disk, size, l)
	if dd == nil || dd.err != nil {
		return GroupMember{}, false
	}
	d := dd.d
	m := GroupMember{Group: "ldm:" + d.GroupGUID, ID: "ldm:" + d.GUID, Seqno: int64(min(d.DB.Seq, 1<<62)),
		Desc: fmt.Sprintf("dynamic disk %s (GUID %s) of disk group %q", d.Name, d.GUID, d.GroupName)}
	for _, r := range d.DB.Disks {
		m.Lists = append(m.Lists, "ldm:"+r.GUID)
	}
	return m, true
}
