package guest

// Where a volume's bytes lie on the disks. A diff of two checkpoints
// finds the disk ranges that changed first; a volume none of whose bytes
// lie in them is the same in both and need not be read. For a partition
// that is its window; for an LVM logical volume, its extents on each
// physical volume, which may be on several disks (JoinVolumeGroups); for
// a decrypted volume, the encrypted bytes it is read from.

// DiskRun is a run of bytes of one disk.
type DiskRun struct {
	Disk string // the disk's name, as Volumes was given it
	Off  int64  // byte offset on the disk
	Len  int64
}

// maxDiskRuns bounds the runs returned: a logical volume has a segment
// per run, at most lvmMaxSegments.
const maxDiskRuns = lvmMaxSegments

// DiskRuns returns where v's bytes lie on the disks, in the order of v's
// bytes: a partition's (or a whole-disk volume's) window, a logical
// volume's extents on its physical volumes' disks. ok is false when the
// bytes are not a copy of disk bytes (a decrypted volume, a shadow copy,
// a logical volume over one of those) or v has no bytes.
func (v *Volume) DiskRuns() (runs []DiskRun, ok bool) {
	runs, exact, ok := v.runs(0)
	if !ok || !exact {
		return nil, false
	}
	return runs, true
}

// SourceRuns returns the disk runs v's bytes are made from: DiskRuns
// when they are disk bytes; for a decrypted volume (or a logical volume
// over one) the runs of the encrypted bytes, all of them: v is the same
// in two states of the disks whose bytes are the same over these runs
// (with the same keys). ok is false for a shadow copy (its stores may
// lie in another volume), for what lies in one, and for a volume with
// no bytes. For the volume a btrfs filesystem over several devices is
// read in, they are the runs of all its devices.
func (v *Volume) SourceRuns() (runs []DiskRun, ok bool) {
	if j := v.btrfsJoin; j != nil && j.carrier == v && len(j.devices) > 1 {
		return j.runs()
	}
	runs, _, ok = v.runs(0)
	return runs, ok
}

// runs is SourceRuns; exact reports they are v's bytes in order
// (DiskRuns).
func (v *Volume) runs(depth int) (runs []DiskRun, exact, ok bool) {
	if v == nil || v.Reader == nil || depth > 2*maxLayerDepth || v.IsShadow() {
		return nil, false, false
	}
	if v.outer != nil {
		runs, _, ok := v.outer.runs(depth + 1)
		return runs, false, ok
	}
	lr, isLV := v.Reader.(*lvmReader)
	if !isLV {
		if v.Remapped || v.Size < 0 {
			return nil, false, false
		}
		return []DiskRun{{Disk: v.disk, Off: v.Start, Len: v.Size}}, true, true
	}
	var out []DiskRun
	add := func(r DiskRun) bool {
		if k := len(out); k > 0 && out[k-1].Disk == r.Disk && out[k-1].Off+out[k-1].Len == r.Off {
			out[k-1].Len += r.Len
			return true
		}
		if len(out) == maxDiskRuns {
			return false
		}
		out = append(out, r)
		return true
	}
	exact = true
	for _, s := range lr.segs {
		pv := lr.pvs[s.pv]
		under, pvExact, ok := pv.vol.runs(depth + 1)
		if !ok {
			return nil, false, false
		}
		if !pvExact {
			// Decrypted physical volume: all of its encrypted bytes.
			exact = false
			for _, r := range under {
				if !add(r) {
					return nil, false, false
				}
			}
			continue
		}
		// newLVMReader checked the segment lies within the physical
		// volume, so neither sum overflows.
		off, n := pv.peStart+s.pvStart*lr.extent, s.count*lr.extent
		for _, r := range under {
			if n == 0 {
				break
			}
			if off >= r.Len {
				off -= r.Len
				continue
			}
			take := min(n, r.Len-off)
			if !add(DiskRun{Disk: r.Disk, Off: r.Off + off, Len: take}) {
				return nil, false, false
			}
			off, n = 0, n-take
		}
		if n > 0 {
			return nil, false, false // past its physical volume's runs
		}
	}
	return out, exact, true
}

// WaitsForPVs reports whether v is an LVM logical volume with extents on
// physical volumes its disk does not hold, or a volume of Windows dynamic
// disks with extents on others: Volumes lists it so, and
// JoinVolumeGroups opens it when it is given them (else it still waits,
// its Err wrapping ErrMissingPV).
func (v *Volume) WaitsForPVs() bool {
	return (v.lvmLV != nil && v.lvmLV.pending) || (v.ldmVol != nil && v.ldmVol.pending)
}
