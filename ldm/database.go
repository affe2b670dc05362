package ldm

import (
	"fmt"
)

// Database is a disk's copy of its group's LDM database: every record of
// the group (all its disks, volumes, components and partitions, not only
// this disk's), in the order of their slots.
type Database struct {
	// Seq is the committed sequence number: every change Windows makes
	// to the group raises it on all its disks.
	Seq       uint64
	GroupID   uint64
	GroupName string
	GroupGUID string

	Disks      []DiskRecord
	Volumes    []VolumeRecord
	Components []ComponentRecord
	Partitions []PartitionRecord

	groupRecords int
	volumes      []*Volume // assembled by link
}

// DiskRecord is a disk of the group.
type DiskRecord struct {
	ID   uint64
	Name string // "Disk1"
	GUID string // lower-case text; the PRIVHEAD of that disk carries it
}

// VolumeRecord is a volume as its record describes it.
type VolumeRecord struct {
	ID         uint64
	Name       string // "Volume1"
	Kind       string // "gen", or "raid5"
	State      string // "ACTIVE"
	Type       byte   // 3 (gen) or 4 (RAID-5)
	Number     byte
	Flags      byte
	Components int
	Size       int64 // bytes
	PartType   byte  // the MBR partition type a basic disk would give it (0x07: NTFS)
	GUID       string
	DriveHint  string // "E:", when Windows recorded one
}

// ComponentRecord is a plex of a volume: a run of partitions, spanned,
// striped or RAID-5.
type ComponentRecord struct {
	ID        uint64
	Name      string // "Volume1-01"
	State     string
	Type      byte // 1 striped, 2 spanned, 3 RAID-5
	Parts     int
	Volume    uint64 // the volume's id
	ChunkSize int64  // bytes, for striped and RAID-5 components
	Columns   int
}

// PartitionRecord is a run of sectors on one disk, part of a component.
type PartitionRecord struct {
	ID           uint64
	Name         string // "Disk1-01"
	Start        int64  // bytes from the start of the disk's data area
	VolumeOffset int64  // bytes: where it lies in its volume (spanned)
	Size         int64  // bytes
	Component    uint64 // the component's id
	Disk         uint64 // the disk's id
	Index        int    // its column in a striped component
}

const (
	volumeGen   = 3
	volumeRAID5 = 4

	compStriped = 1
	compSpanned = 2
	compRAID    = 3
)

// VolumeType is what a volume is made of.
type VolumeType int

// The volume types, as ldmtool names them.
const (
	Simple   VolumeType = iota // one partition
	Spanned                    // partitions one after the other (one disk or several)
	Striped                    // partitions read in turn, one chunk each
	Mirrored                   // several plexes holding the same bytes
	RAID5                      // striped with a parity chunk in each row
)

func (t VolumeType) String() string {
	switch t {
	case Simple:
		return "simple"
	case Spanned:
		return "spanned"
	case Striped:
		return "striped"
	case Mirrored:
		return "mirrored"
	case RAID5:
		return "RAID5"
	}
	return fmt.Sprintf("VolumeType(%d)", int(t))
}

// Volume is a volume of the group, assembled from its records.
type Volume struct {
	Name      string
	GUID      string
	Type      VolumeType
	Size      int64 // bytes, as its record says
	ChunkSize int64 // bytes, for striped and RAID-5 volumes
	DriveHint string
	PartType  byte
	// Plexes holds one plex per component: a mirror has two or more,
	// other volumes one. Each plex's extents are in volume order.
	Plexes []Plex
}

// Plex is one copy of a volume's bytes.
type Plex struct {
	Name    string
	State   string // its component's state: "ACTIVE" when its bytes are current
	Extents []Extent
}

// Extent is one partition of a plex.
type Extent struct {
	Name         string // "Disk1-01"
	Disk         string // the disk's name, "Disk1"
	DiskGUID     string
	Start        int64 // bytes from the start of the disk's data area
	VolumeOffset int64 // bytes: where it lies in its plex (spanned)
	Size         int64
	Index        int // its column (striped)
}

// Disks returns the GUIDs of the disks v has extents on, in the order
// they first appear.
func (v *Volume) Disks() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range v.Plexes {
		for _, e := range p.Extents {
			if !seen[e.DiskGUID] {
				seen[e.DiskGUID] = true
				out = append(out, e.DiskGUID)
			}
		}
	}
	return out
}

// link checks the records against the VMDB's counts and against each
// other (every partition's disk and component, every component's
// volume exist, and each holds as many children as it says), then
// assembles the volumes, as ldmtool does.
func (db *Database) link(h vmdb, off int64) error {
	counts := []struct {
		what      string
		got, want int
	}{
		{"disk", len(db.Disks), int(h.nDisk)},
		{"component", len(db.Components), int(h.nComp)},
		{"partition", len(db.Partitions), int(h.nPart)},
		{"volume", len(db.Volumes), int(h.nVol)},
	}
	for _, c := range counts {
		if c.got != c.want {
			return formatErr(off, "the VMDB counts %d %s records, the database holds %d", c.want, c.what, c.got)
		}
	}
	disks := map[uint64]int{}
	for i, d := range db.Disks {
		disks[d.ID] = i
	}
	comps := map[uint64]int{}
	for i, c := range db.Components {
		comps[c.ID] = i
	}
	vols := map[uint64]int{}
	for i, v := range db.Volumes {
		vols[v.ID] = i
	}
	parts := make([][]Extent, len(db.Components))
	for _, p := range db.Partitions {
		d, ok := disks[p.Disk]
		if !ok {
			return formatErr(off, "partition %s lies on disk %d, which the database does not list", p.Name, p.Disk)
		}
		c, ok := comps[p.Component]
		if !ok {
			return formatErr(off, "partition %s belongs to component %d, which the database does not list", p.Name, p.Component)
		}
		disk := db.Disks[d]
		parts[c] = append(parts[c], Extent{Name: p.Name, Disk: disk.Name, DiskGUID: disk.GUID, Start: p.Start,
			VolumeOffset: p.VolumeOffset, Size: p.Size, Index: p.Index})
	}
	out := make([]*Volume, len(db.Volumes))
	for i, r := range db.Volumes {
		out[i] = &Volume{Name: r.Name, GUID: r.GUID, Size: r.Size, DriveHint: r.DriveHint, PartType: r.PartType}
	}
	for i, c := range db.Components {
		if len(parts[i]) != c.Parts {
			return formatErr(off, "component %s has %d partitions, its record says %d", c.Name, len(parts[i]), c.Parts)
		}
		if c.Columns > 0 && c.Columns != c.Parts {
			return formatErr(off, "component %s has %d columns and %d partitions", c.Name, c.Columns, c.Parts)
		}
		vi, ok := vols[c.Volume]
		if !ok {
			return formatErr(off, "component %s belongs to volume %d, which the database does not list", c.Name, c.Volume)
		}
		v, r := out[vi], db.Volumes[vi]
		if err := v.addPlex(c, r, parts[i]); err != nil {
			return formatErr(off, "%v", err)
		}
	}
	for i, v := range out {
		if len(v.Plexes) != db.Volumes[i].Components {
			return formatErr(off, "volume %s has %d components, its record says %d", v.Name, len(v.Plexes), db.Volumes[i].Components)
		}
	}
	db.volumes = out
	return nil
}

// addPlex adds component c (of volume record r) with its partitions to v
// and derives v's type from them, refusing the combinations Windows does
// not make.
func (v *Volume) addPlex(c ComponentRecord, r VolumeRecord, parts []Extent) error {
	switch c.Type {
	case compSpanned:
		if r.Type != volumeGen {
			return fmt.Errorf("spanned component %s in a volume of type %d", c.Name, r.Type)
		}
		switch {
		case r.Components > 1:
			v.Type = Mirrored
		case len(parts) > 1:
			v.Type = Spanned
		default:
			v.Type = Simple
		}
		v.Plexes = append(v.Plexes, Plex{Name: c.Name, State: c.State, Extents: sortedExtents(parts, false)})
	case compStriped, compRAID:
		if (c.Type == compRAID) != (r.Type == volumeRAID5) {
			return fmt.Errorf("component %s of type %d in a volume of type %d", c.Name, c.Type, r.Type)
		}
		if r.Components != 1 {
			return fmt.Errorf("%s component %s in a volume of %d components", map[byte]string{compStriped: "striped", compRAID: "RAID-5"}[c.Type], c.Name, r.Components)
		}
		v.Type = Striped
		if c.Type == compRAID {
			v.Type = RAID5
		}
		v.ChunkSize = c.ChunkSize
		v.Plexes = append(v.Plexes, Plex{Name: c.Name, State: c.State, Extents: sortedExtents(parts, true)})
	}
	return nil
}
