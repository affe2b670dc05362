package diff

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/ckptfs/ckptfs/guest"
)

// The guest files of two checkpoints are compared volume by volume,
// volumes matched by name, and a volume none of whose bytes changed is
// skipped unread: the cost follows the change, not the disks. Where a
// volume's bytes lie is its window on its disk, or for an LVM logical
// volume its extents, which may lie on several disks; a decrypted volume
// is made from its encrypted bytes (guest.Volume.SourceRuns). A logical
// volume over several disks (a group grown onto a second disk) is opened
// over all the checkpoint's disks (guest.JoinVolumeGroups) and compared
// when any of its extents changed, on whichever disk.

// fsLVM2 is guest.Volume.FSType of an LVM physical volume; tableLDM
// guest.Volume.Table of a volume of Windows dynamic disks (which may lie
// over several disks too, joined the same way).
const (
	fsLVM2   = "lvm2"
	tableLDM = "ldm"
)

// filesPass is the comparison of the files of one pair of checkpoints.
type filesPass struct {
	differ func(disk string) []span // the differing sectors of a disk
	// local holds, per side, the volumes a disk lists on its own, by
	// name: their bytes come from that disk alone (not a logical volume
	// over several disks, nor what lies in one).
	localA, localB map[string]bool
	res            *Result
	thorough       bool
}

// files compares the guest volumes of the checkpoints' matched disks.
// Only the disks with differing bytes are opened, unless one of them
// holds an LVM physical volume (or is a Windows dynamic disk, or holds a
// device of a btrfs filesystem over several): then all
// are, on both sides, and their volume groups joined, since a volume of
// a changed disk may have extents on (or begin on) another.
func files(ctx context.Context, disks []*diskDiff, res *Result, opt Options) error {
	type sides struct{ a, b []*guest.Volume }
	opened := make([]*sides, len(disks))
	lvm := false
	open := func(i int) error {
		d := disks[i]
		volsA, err := opt.Guest.Volumes(d.a, d.a.Size(), d.name)
		if err != nil {
			return fmt.Errorf("%s in %s: %w", d.name, res.From, err)
		}
		volsB, err := opt.Guest.Volumes(d.b, d.b.Size(), d.name)
		if err != nil {
			return fmt.Errorf("%s in %s: %w", d.name, res.To, err)
		}
		for _, v := range append(volsA[:len(volsA):len(volsA)], volsB...) {
			lvm = lvm || v.FSType == fsLVM2 || v.Table == tableLDM || v.BtrfsMultiDevice()
		}
		opened[i] = &sides{volsA, volsB}
		return nil
	}
	byName := map[string]*diskDiff{}
	changed := false
	for i, d := range disks {
		byName[d.name] = d
		if len(d.differ) == 0 {
			continue
		}
		changed = true
		if err := open(i); err != nil {
			return err
		}
	}
	if !changed {
		return nil
	}
	if lvm {
		for i, d := range disks {
			if opened[i] == nil {
				if err := open(i); err != nil {
					// It did not change: only what lies over it and a
					// changed disk is missed, and named as waiting.
					res.Notes = append(res.Notes, fmt.Sprintf("%s: not read for the volumes over several disks: %v", d.name, err))
				}
			}
		}
	}
	p := &filesPass{localA: map[string]bool{}, localB: map[string]bool{}, res: res, thorough: opt.Thorough}
	p.differ = func(disk string) []span {
		if d := byName[disk]; d != nil {
			return d.differ
		}
		return nil
	}
	var volsA, volsB []*guest.Volume
	for _, s := range opened {
		if s == nil {
			continue
		}
		for _, v := range s.a {
			p.localA[v.Name] = !v.WaitsForPVs()
		}
		for _, v := range s.b {
			p.localB[v.Name] = !v.WaitsForPVs()
		}
		volsA, volsB = append(volsA, s.a...), append(volsB, s.b...)
	}
	if lvm {
		volsA, volsB = opt.Guest.JoinVolumeGroups(volsA), opt.Guest.JoinVolumeGroups(volsB)
	}
	return p.volumes(ctx, volsA, volsB)
}

// volumes pairs the volumes of both states by name and compares each pair.
func (p *filesPass) volumes(ctx context.Context, volsA, volsB []*guest.Volume) error {
	for _, vb := range volsB {
		va := findVolume(volsA, vb.Name)
		if va == nil {
			p.res.Files = append(p.res.Files, FileChange{Path: vb.Name, Change: Added})
			continue
		}
		if err := p.volume(ctx, va, vb); err != nil {
			return err
		}
	}
	for _, va := range volsA {
		if findVolume(volsB, va.Name) == nil {
			p.res.Files = append(p.res.Files, FileChange{Path: va.Name, Change: Removed})
		}
	}
	return nil
}

func findVolume(vols []*guest.Volume, name string) *guest.Volume {
	for _, v := range vols {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// changedRuns reports whether va and vb are made from the same disk
// runs (guest.Volume.SourceRuns) none of whose bytes differ (changed
// false), or whether that cannot be told (known false).
func (p *filesPass) changedRuns(va, vb *guest.Volume) (changed, known bool) {
	ra, okA := va.SourceRuns()
	rb, okB := vb.SourceRuns()
	if !okA || !okB {
		return false, false
	}
	if len(ra) != len(rb) {
		return true, true
	}
	for i, r := range ra {
		if r != rb[i] {
			return true, true // moved or resized
		}
	}
	for _, r := range ra {
		if overlaps(p.differ(r.Disk), r.Off, r.Off+r.Len) {
			return true, true
		}
	}
	return false, true
}

// volume compares one pair of volumes: by their records or inodes when
// both filesystems offer them (guest.RecordFS: NTFS; guest.InodeFS: ext,
// XFS) at the same place, by walking both trees otherwise.
func (p *filesPass) volume(ctx context.Context, va, vb *guest.Volume) error {
	res := p.res
	if va.FS == nil && vb.FS == nil && va.Err == nil && vb.Err == nil && (va.FSType == fsLVM2 || va.Purpose != "") && va.FSType == vb.FSType && va.Purpose == vb.Purpose {
		// An LVM physical volume or a dynamic disk's LDM partition (their
		// volumes are compared), or a partition known to hold no files
		// (Microsoft reserved, BIOS boot): nothing to compare, nothing
		// to note.
		return nil
	}
	differ := p.differ(va.DiskName())
	moved := va.Start != vb.Start || va.Size != vb.Size
	// A shadow copy is made of its live volume's bytes, where the stores
	// are too: unchanged when that window is. (Stores kept on another
	// volume are not followed: their copies change only with their live
	// volume.)
	shadow := va.IsShadow() && vb.IsShadow()
	remapped := (va.Remapped || vb.Remapped) && !shadow
	changed, known := p.changedRuns(va, vb)
	switch {
	case known:
		if !changed {
			return nil
		}
	case !p.localA[va.Name] || !p.localB[vb.Name]:
		// A logical volume over several disks, or found in one, whose
		// bytes cannot be placed on the disks (a shadow copy in it): no
		// disk range can rule it out.
	case !moved && !remapped && !overlaps(differ, va.Start, va.Start+va.Size):
		return nil
	case len(differ) == 0 && !moved:
		// Its own disk did not change, and nothing else is in it.
		return nil
	}
	remapped = remapped || shadow
	if va.FS == nil || vb.FS == nil {
		res.Notes = append(res.Notes, fmt.Sprintf("%s: not compared: %v", va.Name, volumeErr(va, vb)))
		return nil
	}
	if !moved && !remapped {
		changes, notes, done := indexedDiff(ctx, va.Name, fsTypes(va, vb), va.FS, vb.FS, clip(differ, va.Start, va.Start+va.Size), p.thorough)
		res.Notes = append(res.Notes, notes...)
		if done {
			res.Files = append(res.Files, changes...)
			return nil
		}
	} else {
		res.Notes = append(res.Notes, fmt.Sprintf("%s: %s compared by a full walk of both trees", va.Name, fsTypes(va, vb)))
	}
	changes, notes, err := walkDiff(ctx, va.Name, va.FS, vb.FS)
	if err != nil {
		return err
	}
	res.Files = append(res.Files, changes...)
	res.Notes = append(res.Notes, notes...)
	return nil
}

func volumeErr(va, vb *guest.Volume) error {
	if va.Err != nil {
		return va.Err
	}
	if vb.Err != nil {
		return vb.Err
	}
	// One side's filesystem is gone (a volume moved by its metadata alone,
	// or wiped): say which, not just "unknown".
	switch {
	case va.FS != nil:
		return fmt.Errorf("%s in the first checkpoint, no filesystem found in the second", va.FSType)
	case vb.FS != nil:
		return fmt.Errorf("no filesystem found in the first checkpoint, %s in the second", vb.FSType)
	}
	return fmt.Errorf("unknown filesystem")
}

func fsTypes(va, vb *guest.Volume) string {
	if va.FSType == vb.FSType {
		return va.FSType
	}
	return va.FSType + " → " + vb.FSType
}

// indexedDiff compares two states of one volume at the same place by the
// records (guest.RecordFS) or inodes (guest.InodeFS) that lie in the
// changed spans. done is false when the trees must be walked instead; the
// notes then say why.
func indexedDiff(ctx context.Context, vol, kind string, fa, fb fs.FS, changed []span, thorough bool) (changes []FileChange, notes []string, done bool) {
	ra, okA := fa.(guest.RecordFS)
	rb, okB := fb.(guest.RecordFS)
	if okA && okB {
		changes, notes, err := recordDiff(ctx, vol, ra, rb, changed, thorough)
		if err == nil {
			return changes, notes, true
		}
		return nil, []string{fmt.Sprintf("%s: MFT-level comparison failed (%v); compared by a full walk of both trees", vol, err)}, false
	}
	ia, okA := fa.(guest.InodeFS)
	ib, okB := fb.(guest.InodeFS)
	if !okA || !okB {
		return nil, []string{fmt.Sprintf("%s: %s compared by a full walk of both trees", vol, kind)}, false
	}
	why := ""
	for _, i := range []guest.InodeFS{ia, ib} {
		if err := i.InodesComparable(); err != nil && why == "" {
			why = err.Error()
		}
	}
	if why == "" {
		changes, notes, err := inodeDiff(ctx, vol, fa, fb, ia, ib, changed, thorough)
		if err == nil {
			return changes, notes, true
		}
		why = fmt.Sprintf("inode comparison failed (%v)", err)
	}
	return nil, []string{fmt.Sprintf("%s: %s compared by a full walk of both trees: %s", vol, kind, why)}, false
}
