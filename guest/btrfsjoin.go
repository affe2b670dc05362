package guest

import (
	"fmt"
	"strings"

	"github.com/ckptfs/ckptfs/btrfs"
)

// btrfs filesystems over several disks. An admin grows a VM's btrfs root
// with `btrfs device add` onto a second virtual disk, or makes a data
// volume RAID1 over two: each disk then holds one device of the
// filesystem, with the same fsid. Volumes opens each device alone (what
// lies on the others fails with btrfs.ErrDevices); JoinVolumeGroups,
// given the volumes of all the disks of one checkpoint, opens the
// filesystem once over all its devices found, in the volume of the first
// of them, and says of the others that they are its members.

// btrfsJoin marks a volume the join handled, so that joining again
// changes nothing.
type btrfsJoin struct {
	fsid    [16]byte
	carrier *Volume   // the volume the filesystem is read in
	devices []*Volume // its devices found, carrier first
}

// btrfsDev is one device of a multi-device btrfs filesystem found among
// the volumes.
type btrfsDev struct {
	v  *Volume
	id btrfs.Identity
}

// joinBtrfs is JoinVolumeGroups for btrfs.
func (o *Options) joinBtrfs(vols []*Volume) []*Volume {
	groups := map[[16]byte][]btrfsDev{}
	var order [][16]byte
	for _, v := range vols {
		if v.FSType != fsBtrfs || v.Reader == nil || v.btrfsJoin != nil || hasLayer(v, "btrfs-toplevel") {
			continue
		}
		id, err := btrfs.Identify(v.Reader, v.Size)
		if err != nil || id.NumDevices < 2 {
			continue
		}
		if groups[id.FSID] == nil {
			order = append(order, id.FSID)
		}
		groups[id.FSID] = append(groups[id.FSID], btrfsDev{v, id})
	}
	if len(order) == 0 {
		return vols
	}
	drop := map[*Volume]bool{} // the members' own -toplevel siblings
	more := map[*Volume][]*Volume{}
	for _, fsid := range order {
		devs := groups[fsid]
		carrier := devs[0].v
		j := &btrfsJoin{fsid: fsid, carrier: carrier}
		for _, d := range devs {
			j.devices = append(j.devices, d.v)
			d.v.btrfsJoin = j
			for _, s := range vols {
				if s.Name == d.v.Name+topLevelSuffix && hasLayer(s, "btrfs-toplevel") {
					drop[s] = true
				}
			}
		}
		more[carrier] = o.openBtrfsJoin(devs)
	}
	out := make([]*Volume, 0, len(vols))
	for _, v := range vols {
		if drop[v] {
			continue
		}
		out = append(append(out, v), more[v]...)
	}
	return out
}

// openBtrfsJoin opens the filesystem over devs in the first one's volume
// and returns its siblings (the top level); the other volumes are listed
// as its members.
func (o *Options) openBtrfsJoin(devs []btrfsDev) []*Volume {
	carrier := devs[0].v
	id := devs[0].id
	name := uuidText(id.FSID)
	if id.Label != "" {
		name = fmt.Sprintf("%q (%s)", id.Label, name)
	}
	var in []btrfs.Device
	seen := map[uint64]*Volume{}
	var dupErr error
	for _, d := range devs {
		if other := seen[d.id.DevID]; other != nil && dupErr == nil {
			// A copied disk attached beside its original: which is the
			// real device is not guessed.
			dupErr = fmt.Errorf("device %d of btrfs filesystem %s is both %s and %s: %w", d.id.DevID, name, other.Name, d.v.Name, ErrUnsupported)
		}
		seen[d.id.DevID] = d.v
		in = append(in, btrfs.Device{R: d.v.Reader, Size: d.v.Size})
	}
	for _, d := range devs[1:] {
		d.v.FS, d.v.Err, d.v.Journal, d.v.Label = nil, nil, "", id.Label
		d.v.Purpose = fmt.Sprintf("device %d of btrfs filesystem %s, read in volume %s", d.id.DevID, name, carrier.Name)
	}
	carrier.FS, carrier.Journal, carrier.Label = nil, "", id.Label
	fail := func(err error) []*Volume {
		carrier.Err = fmt.Errorf("%s: btrfs over %d devices: %w", carrier.Name, len(devs), err)
		return nil
	}
	if dupErr != nil {
		return fail(dupErr)
	}
	bv, err := btrfs.OpenDevices(in, btrfs.Options{NoRecovery: o != nil && o.NoRecovery})
	if err != nil {
		return fail(err)
	}
	sv, err := bv.Subvolume(bv.DefaultSubvolume())
	if err != nil {
		return fail(err)
	}
	carrier.Err = nil
	carrier.FS = btrfsFS{sv}
	carrier.Journal = btrfsFS{sv}.JournalState()
	if missing := bv.Missing(); len(missing) > 0 {
		carrier.Warning = fmt.Sprintf("btrfs filesystem %s: %s of its %d missing (on none of the disks given): what only they hold cannot be read",
			name, devListText(missing), len(bv.Devices()))
	}
	return siblings(carrier, o)
}

// devListText names devids as package btrfs does: "device 2",
// "devices 1 and 3".
func devListText(ids []uint64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	if len(s) == 1 {
		return "device " + s[0]
	}
	return "devices " + strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// BtrfsMultiDevice reports whether v is a device of a btrfs filesystem
// over several devices, which may lie on other disks: JoinVolumeGroups
// opens it over those given with it.
func (v *Volume) BtrfsMultiDevice() bool {
	if v.btrfsJoin != nil {
		return true
	}
	if v.FSType != fsBtrfs || v.Reader == nil || hasLayer(v, "btrfs-toplevel") {
		return false
	}
	id, err := btrfs.Identify(v.Reader, v.Size)
	return err == nil && id.NumDevices > 1
}

// runs is SourceRuns of the volume a joined btrfs filesystem is
// read in: the runs of all its devices.
func (j *btrfsJoin) runs() ([]DiskRun, bool) {
	var out []DiskRun
	for _, d := range j.devices {
		r, _, ok := d.runs(0)
		if !ok || len(out)+len(r) > maxDiskRuns {
			return nil, false
		}
		out = append(out, r...)
	}
	return out, true
}
