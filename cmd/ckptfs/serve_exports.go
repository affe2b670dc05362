package main

import (
	"fmt"
	"strconv"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/nbd"
	"github.com/ckptfs/ckptfs/vhdx"
)

// exportEntry is one NBD export as `serve --json` lists it.
type exportEntry struct {
	Name       string `json:"name"`
	Size       int64  `json:"size"`
	VM         string `json:"vm"`
	Checkpoint string `json:"checkpoint"`
	Disk       string `json:"disk"`
	Volume     string `json:"volume,omitempty"`
	// Offset is where a volume starts on its disk; absent for a disk, or
	// for a volume that is not one run of it (an LVM volume in pieces).
	Offset *int64 `json:"offset,omitempty"`

	export *nbd.Export
}

// serveExports are the exports of a catalog: every checkpoint's disks as
// "<checkpoint>/<disk>" and their volumes as "<checkpoint>/volumes/<VOL>",
// under "<vm>/" when the source holds several VMs; names as the mount
// gives them. The default export (the empty name) is the first VM's live
// state's first disk.
type serveExports struct {
	guest       *guest.Options // keys for BitLocker volumes
	list        []exportEntry
	defaultName string
}

func (s *serveExports) nbd() []*nbd.Export {
	out := make([]*nbd.Export, len(s.list))
	for i, e := range s.list {
		out[i] = e.export
	}
	return out
}

func buildExports(cat *catalog.Catalog, g *guest.Options) (*serveExports, error) {
	s := &serveExports{guest: g}
	var vmNames catalog.Namer
	for i, vm := range cat.VMs {
		prefix := ""
		if len(cat.VMs) > 1 {
			prefix = vmNames.Name(vm.Name) + "/"
		}
		var cpNames catalog.Namer
		for _, c := range vm.Checkpoints {
			first, err := s.addCheckpoint(prefix+cpNames.Name(c.Name)+"/", vm, c)
			if err != nil {
				return nil, err
			}
			if i == 0 && first != "" && (s.defaultName == "" || c == vm.Latest()) {
				s.defaultName = first
			}
		}
	}
	return s, nil
}

// addCheckpoint adds one checkpoint's disks and volumes and returns the
// name of its first disk's export. The volumes of all its disks are
// joined first (guest.JoinVolumeGroups): an LVM volume over two disks is
// one export, listed after the disk of its first extent.
func (s *serveExports) addCheckpoint(dir string, vm *catalog.VM, c *catalog.Checkpoint) (string, error) {
	names := catalog.NewCheckpointNamer()
	type disk struct {
		stem, file string
		img        *vhdx.Chain
	}
	var disks []disk
	var all []*guest.Volume
	from := map[*guest.Volume]string{} // the disk each listed a volume
	for _, d := range c.Disks {
		stem := names.Disk(d.Name)
		if d.Chain == nil {
			continue
		}
		vols, err := s.guest.Volumes(d.Chain, d.Chain.Size(), stem)
		if err != nil {
			return "", fmt.Errorf("disk %s: %w", d.File, err)
		}
		disks = append(disks, disk{stem, d.File, d.Chain})
		for _, v := range vols {
			from[v] = stem
		}
		all = append(all, vols...)
	}
	all = s.guest.JoinVolumeGroups(all)
	first := ""
	for _, d := range disks {
		img := d.img
		e := exportEntry{Name: dir + d.stem, Size: img.Size(), VM: vm.Name, Checkpoint: c.Name, Disk: d.stem}
		e.export = &nbd.Export{Name: e.Name, Description: "disk " + d.file, Size: e.Size, Data: img,
			Map: imageMap(img, 0)}
		s.list = append(s.list, e)
		if first == "" {
			first = e.Name
		}
		for _, v := range all {
			stem, ok := from[v]
			if !ok {
				stem = v.DiskName() // opened by the join
			}
			if v.Reader == nil || stem != d.stem {
				continue
			}
			name := names.Volume(v.Name)
			ve := exportEntry{Name: dir + "volumes/" + name, Size: v.Size, VM: vm.Name, Checkpoint: c.Name,
				Disk: d.stem, Volume: name}
			ve.export = &nbd.Export{Name: ve.Name, Description: volumeDescription(v), Size: v.Size, Data: v.Reader}
			if !v.Remapped {
				ve.export.Map = imageMap(img, v.Start)
				ve.Offset = &v.Start
			}
			s.list = append(s.list, ve)
		}
	}
	return first, nil
}

func volumeDescription(v *guest.Volume) string {
	d := "volume, " + v.FSType
	if v.Label != "" {
		d += " " + strconv.Quote(v.Label)
	}
	return d
}

// imageMap maps an export starting at byte base of a disk image onto the
// image's extents: absent and zero runs are holes.
func imageMap(img vhdx.Image, base int64) func(off, n int64) ([]nbd.Extent, error) {
	return func(off, n int64) ([]nbd.Extent, error) {
		exts, err := img.Extents(base+off, n)
		if err != nil {
			return nil, err
		}
		out := make([]nbd.Extent, 0, len(exts))
		for _, x := range exts {
			out = append(out, nbd.Extent{Off: x.Off - base, Len: x.Len, Hole: x.Kind != vhdx.ExtentData})
		}
		return out, nil
	}
}
