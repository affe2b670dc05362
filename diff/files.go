package diff

import (
	"context"
	"errors"
	"fmt"

	"github.com/ckptfs/ckptfs/guest"
)

// files compares the guest volumes of one disk, matched by volume name.
// A volume whose window holds no differing byte is skipped unread.
func (d *diskDiff) files(ctx context.Context, res *Result, opt Options) error {
	thorough := opt.Thorough
	if len(d.differ) == 0 {
		return nil
	}
	volsA, err := opt.Guest.Volumes(d.a, d.a.Size(), d.name)
	if err != nil {
		return fmt.Errorf("%s in %s: %w", d.name, res.From, err)
	}
	volsB, err := opt.Guest.Volumes(d.b, d.b.Size(), d.name)
	if err != nil {
		return fmt.Errorf("%s in %s: %w", d.name, res.To, err)
	}
	for _, vb := range volsB {
		va := findVolume(volsA, vb.Name)
		if va == nil {
			res.Files = append(res.Files, FileChange{Path: vb.Name, Change: Added})
			continue
		}
		if err := d.volume(ctx, va, vb, res, thorough); err != nil {
			return err
		}
	}
	for _, va := range volsA {
		if findVolume(volsB, va.Name) == nil {
			res.Files = append(res.Files, FileChange{Path: va.Name, Change: Removed})
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

// volume compares one pair of volumes: by their records when both
// filesystems keep files in records (guest.RecordFS: NTFS) at the same
// place, by walking both trees otherwise.
func (d *diskDiff) volume(ctx context.Context, va, vb *guest.Volume, res *Result, thorough bool) error {
	moved := va.Start != vb.Start || va.Size != vb.Size
	// An LVM volume in several runs of the disk is not [Start, Start+Size):
	// no disk range can rule it out, so it is always walked. A shadow
	// copy is made of its live volume's bytes, where the stores are too:
	// unchanged when that window is. (Stores kept on another volume are
	// not followed: their copies change only with their live volume.)
	shadow := va.IsShadow() && vb.IsShadow()
	if spansDisks(va) || spansDisks(vb) {
		// Its other extents are on another disk, whose changes this
		// disk's ranges do not show: never skipped without a word.
		res.Notes = append(res.Notes, fmt.Sprintf("%s: not compared: its LVM volume lies on several disks, and --files compares one disk at a time", va.Name))
		return nil
	}
	remapped := (va.Remapped || vb.Remapped) && !shadow
	if !moved && !remapped && !overlaps(d.differ, va.Start, va.Start+va.Size) {
		return nil
	}
	remapped = remapped || shadow
	if va.FS == nil || vb.FS == nil {
		res.Notes = append(res.Notes, fmt.Sprintf("%s: not compared: %v", va.Name, volumeErr(va, vb)))
		return nil
	}
	ra, okA := va.FS.(guest.RecordFS)
	rb, okB := vb.FS.(guest.RecordFS)
	if okA && okB && !moved && !remapped {
		changed := clip(d.differ, va.Start, va.Start+va.Size)
		changes, notes, err := recordDiff(ctx, va.Name, ra, rb, changed, thorough)
		if err == nil {
			res.Files = append(res.Files, changes...)
			res.Notes = append(res.Notes, notes...)
			return nil
		}
		res.Notes = append(res.Notes, fmt.Sprintf("%s: MFT-level comparison failed (%v); compared by a full walk of both trees", va.Name, err))
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

// spansDisks reports whether v is an LVM logical volume with extents on
// a physical volume of another disk (guest.JoinVolumeGroups opens those
// over all of a checkpoint's disks).
func spansDisks(v *guest.Volume) bool { return errors.Is(v.Err, guest.ErrMissingPV) }

func volumeErr(va, vb *guest.Volume) error {
	if va.Err != nil {
		return va.Err
	}
	if vb.Err != nil {
		return vb.Err
	}
	return fmt.Errorf("unknown filesystem")
}

func fsTypes(va, vb *guest.Volume) string {
	if va.FSType == vb.FSType {
		return va.FSType
	}
	return va.FSType + " → " + vb.FSType
}
