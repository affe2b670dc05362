package guest

// Where a volume's bytes lie on the disks. A diff of two checkpoints
// finds the disk ranges that changed first; a volume none of whose bytes
// lie in them is the same in both and need not be read. For a partition
// that is its window; for an LVM logical volume, its extents on each
// physical volume, which may be on several disks (JoinVolumeGroups).

// DiskRun is a run of bytes of one disk.
type DiskRun struct {
	Disk string // the disk's name, as Volumes was given it
	Off  int64  // byte offset on the disk
	Len  int64
}

// maxDiskRuns bounds the runs DiskRuns returns: a logical volume has a
// segment per run, at most lvmMaxSegments.
const maxDiskRuns = lvmMaxSegments

// DiskRuns returns where v's bytes lie on the disks, in the order of v's
// bytes: a partition's (or a whole-disk volume's) window, a logical
// volume's extents on its physical volumes' disks. ok is false when the
// bytes are not a copy of disk bytes (a decrypted volume, a shadow copy,
// a logical volume over one of those) or v has no bytes.
func (v *Volume) DiskRuns() (runs []DiskRun, ok bool) {
	return v.diskRuns(0)
}

func (v *Volume) diskRuns(depth int) ([]DiskRun, bool) {
	if v == nil || v.Reader == nil || depth > maxLayerDepth {
		return nil, false
	}
	lr, isLV := v.Reader.(*lvmReader)
	if !isLV {
		if v.Remapped || v.IsShadow() || len(v.Layers) > 0 || v.Encryption != "" || v.Size < 0 {
			return nil, false
		}
		return []DiskRun{{Disk: v.disk, Off: v.Start, Len: v.Size}}, true
	}
	var out []DiskRun
	for _, s := range lr.segs {
		pv := lr.pvs[s.pv]
		under, ok := pv.vol.diskRuns(depth + 1)
		if !ok {
			return nil, false
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
			at := r.Off + off
			if k := len(out); k > 0 && out[k-1].Disk == r.Disk && out[k-1].Off+out[k-1].Len == at {
				out[k-1].Len += take
			} else {
				if len(out) == maxDiskRuns {
					return nil, false
				}
				out = append(out, DiskRun{Disk: r.Disk, Off: at, Len: take})
			}
			off, n = 0, n-take
		}
		if n > 0 {
			return nil, false // past its physical volume's runs: not mapped
		}
	}
	return out, true
}

// WaitsForPVs reports whether v is an LVM logical volume with extents on
// physical volumes its disk does not hold: Volumes lists it so, and
// JoinVolumeGroups opens it when it is given them (else it still waits,
// its Err wrapping ErrMissingPV).
func (v *Volume) WaitsForPVs() bool { return v.lvmLV != nil && v.lvmLV.pending }
