package diff

import (
	"context"
	"fmt"
	"sort"

	"github.com/ckptfs/ckptfs/catalog"
)

// Compare computes the difference from checkpoint a to checkpoint b. Disks
// are matched by name; a disk only one checkpoint has is named in the notes.
func Compare(ctx context.Context, a, b *catalog.Checkpoint, opt Options) (*Result, error) {
	if a == nil || b == nil {
		return nil, fmt.Errorf("%w: nil checkpoint", ErrInput)
	}
	if !opt.Ranges && !opt.Files {
		opt.Ranges, opt.Files = true, true
	}
	// A part not asked for stays nil (JSON null), telling "not compared"
	// apart from "no change" (an empty list).
	res := &Result{From: checkpointName(a), To: checkpointName(b)}
	if opt.Ranges {
		res.Ranges = []Range{}
	}
	if opt.Files {
		res.Files = []FileChange{}
	}
	disks, err := matchDisks(a, b, res)
	if err != nil {
		return nil, err
	}
	var all int64
	for _, d := range disks {
		all += total(d.cands)
	}
	var done int64
	progress := func(n int64) {
		done += n
		if opt.Progress != nil {
			opt.Progress(done, all)
		}
	}
	for _, d := range disks {
		if err := d.confirm(ctx, progress); err != nil {
			return nil, err
		}
		if opt.Ranges {
			rs, err := d.ranges()
			if err != nil {
				return nil, err
			}
			res.Ranges = append(res.Ranges, rs...)
		}
	}
	if opt.Files {
		// After every disk's changes are known: a volume may lie on
		// several disks.
		if err := files(ctx, disks, res, opt); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(res.Files, func(i, j int) bool { return res.Files[i].Path < res.Files[j].Path })
	return res, nil
}

// Ranges returns the byte ranges that differ between a and b.
func Ranges(a, b *catalog.Checkpoint, opt Options) ([]Range, error) {
	opt.Ranges, opt.Files = true, false
	res, err := Compare(context.Background(), a, b, opt)
	if err != nil {
		return nil, err
	}
	return res.Ranges, nil
}

// Files returns the guest files that differ between a and b.
func Files(a, b *catalog.Checkpoint, opt Options) ([]FileChange, error) {
	opt.Ranges, opt.Files = false, true
	res, err := Compare(context.Background(), a, b, opt)
	if err != nil {
		return nil, err
	}
	return res.Files, nil
}

// matchDisks pairs the disks of a and b by name and finds their candidate
// ranges.
func matchDisks(a, b *catalog.Checkpoint, res *Result) ([]*diskDiff, error) {
	var out []*diskDiff
	for _, da := range a.Disks {
		db := findDisk(b, da.Name)
		if db == nil {
			res.Notes = append(res.Notes, fmt.Sprintf("disk %s is only in %s", da.Name, res.From))
			continue
		}
		if da.Chain == nil || db.Chain == nil {
			return nil, fmt.Errorf("%w: disk %s has no opened chain", ErrInput, da.Name)
		}
		d, err := newDiskDiff(da.Name, da.Chain, db.Chain)
		if err != nil {
			return nil, err
		}
		if da.Chain.Size() != db.Chain.Size() {
			res.Notes = append(res.Notes, fmt.Sprintf("disk %s: virtual size changed from %d to %d", da.Name, da.Chain.Size(), db.Chain.Size()))
		}
		out = append(out, d)
	}
	for _, db := range b.Disks {
		if findDisk(a, db.Name) == nil {
			res.Notes = append(res.Notes, fmt.Sprintf("disk %s is only in %s", db.Name, res.To))
		}
	}
	return out, nil
}

func findDisk(c *catalog.Checkpoint, name string) *catalog.Disk {
	for _, d := range c.Disks {
		if d.Name == name {
			return d
		}
	}
	return nil
}
