package main

import (
	"slices"

	"github.com/ckptfs/ckptfs/vhdx"
)

// layerSet is every disk file of a source once, each with the chain below
// it (parent first at index 1), in the order first met.
type layerSet struct {
	disks  []*vhdx.Disk
	parent map[*vhdx.Disk]*vhdx.Disk
	chains []*vhdx.Chain // one chain per top, for linkage checks
	// warnings are what the catalog tolerated (unreadable configuration,
	// configured disks that are missing).
	warnings []string
	close    func() error
	// views are the disks as each checkpoint sees them, for check's
	// walk of the guest volumes.
	views []diskView
}

// openLayers opens SRC (a disk file and its parents, or a folder) through
// the catalog, as every command does. A disk file given comes first, then
// its parents.
func openLayers(src string, so sourceOptions) (*layerSet, error) {
	cat, err := so.open(src)
	if err != nil {
		return nil, err
	}
	ls := &layerSet{parent: map[*vhdx.Disk]*vhdx.Disk{}}
	var chains []*vhdx.Chain
	for _, vm := range cat.VMs {
		for _, cp := range vm.Checkpoints {
			for _, d := range cp.Disks {
				if d.Chain != nil {
					chains = append(chains, d.Chain)
				}
			}
		}
	}
	ls.views = catalogViews(cat)
	if len(chains) > 0 && !cat.Folder {
		// The chain of the file given (the longest) first, and, as
		// before, the one view check walks.
		slices.SortStableFunc(chains, func(a, b *vhdx.Chain) int { return len(b.Layers) - len(a.Layers) })
		ls.views = []diskView{chainView(src, chains[0])}
	}
	for _, c := range chains {
		ls.add(c)
	}
	ls.warnings = cat.Warnings
	ls.close = cat.Close
	return ls, nil
}

func (ls *layerSet) add(c *vhdx.Chain) {
	ls.chains = append(ls.chains, c)
	for i, d := range c.Layers {
		if _, seen := ls.parent[d]; !seen {
			ls.disks = append(ls.disks, d)
			ls.parent[d] = nil
		}
		if i+1 < len(c.Layers) {
			ls.parent[d] = c.Layers[i+1]
		}
	}
}

// allocated counts the bytes of a disk's blocks that hold data in the file.
func allocated(d *vhdx.Disk) int64 {
	var n int64
	for i := int64(0); i < d.Blocks(); i++ {
		if st, _ := d.BlockInfo(i); st == vhdx.BlockPresent || st == vhdx.BlockPartial {
			n += min(d.BlockSize, d.VirtualSize-i*d.BlockSize)
		}
	}
	return n
}
