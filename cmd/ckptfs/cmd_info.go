package main

import (
	"context"
	"fmt"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/vhdx"
)

type infoOptions struct {
	src  sourceOptions
	json bool
}

func infoCommand() *command {
	o := &infoOptions{}
	return &command{
		name: "info", args: "SRC|DISK [--json]", short: "describe every disk file: format, sizes, chain, log state",
		flags: func(f *pflag.FlagSet) {
			o.src.AddFlags(f)
			o.src.AddKeyFlags(f)
			f.BoolVar(&o.json, "json", false, "print one JSON object")
		},
		nargs: exactly(1),
		run:   o.run,
	}
}

type diskJSON struct {
	File               string      `json:"file"`
	Format             string      `json:"format"`
	Type               string      `json:"type"`
	VirtualSize        int64       `json:"virtual_size"`
	BlockSize          int64       `json:"block_size"`
	LogicalSectorSize  int64       `json:"logical_sector_size"`
	PhysicalSectorSize int64       `json:"physical_sector_size"`
	FileSize           int64       `json:"file_size"`
	Allocated          int64       `json:"allocated_bytes"`
	DiskID             string      `json:"disk_id"`
	DataWriteGUID      string      `json:"data_write_guid"`
	Header             string      `json:"header"`
	LogReplayed        bool        `json:"log_replayed"`
	LogEntries         int         `json:"log_entries"`
	Parent             *parentJSON `json:"parent"`
	Warnings           []string    `json:"warnings"`
}

type parentJSON struct {
	File         *string           `json:"file"` // the file the chain resolved to
	Linkage      string            `json:"linkage"`
	RelativePath string            `json:"relative_path,omitempty"`
	AbsolutePath string            `json:"absolute_path,omitempty"`
	Locator      map[string]string `json:"locator,omitempty"`
}

func describeDisk(d *vhdx.Disk, parent *vhdx.Disk) diskJSON {
	j := diskJSON{
		File: d.Name, Format: d.Format.String(), Type: d.Type.String(), VirtualSize: d.VirtualSize,
		BlockSize: d.BlockSize, LogicalSectorSize: d.LogicalSectorSize, PhysicalSectorSize: d.PhysicalSectorSize,
		FileSize: d.FileSize, Allocated: allocated(d), DiskID: d.DiskID.String(), DataWriteGUID: d.DataWriteGUID.String(),
		Header: d.Header, LogReplayed: d.LogReplayed, LogEntries: d.LogEntries, Warnings: d.Warnings,
	}
	if j.Warnings == nil {
		j.Warnings = []string{}
	}
	if d.Parent != nil {
		p := &parentJSON{Linkage: d.Parent.Linkage.String(), RelativePath: d.Parent.RelativePath,
			AbsolutePath: d.Parent.AbsolutePath, Locator: d.Parent.Entries}
		if parent != nil {
			p.File = &parent.Name
		}
		j.Parent = p
	}
	return j
}

func (o *infoOptions) run(ctx context.Context, args []string) error {
	g, err := o.src.guestOptions()
	if err != nil {
		return err
	}
	ls, err := openLayers(args[0], o.src)
	if err != nil {
		return err
	}
	defer ls.close()
	var out []diskJSON
	for _, d := range ls.disks {
		out = append(out, describeDisk(d, ls.parent[d]))
	}
	enc := encryptedOfViews(ls.views, g)
	if o.json {
		warnings := ls.warnings
		if warnings == nil {
			warnings = []string{}
		}
		obj := map[string]any{"disks": out, "warnings": warnings}
		if len(enc) > 0 {
			obj["encrypted_volumes"] = enc
		}
		return printJSON(obj)
	}
	for i, j := range out {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printDisk(j)
	}
	if len(enc) > 0 {
		fmt.Fprintln(stdout, "\nencrypted volumes:")
		for _, e := range enc {
			where := e.Volume
			if e.Checkpoint != "" {
				where = e.Checkpoint + ": " + e.Volume
			}
			fmt.Fprintf(stdout, "  %s: %s\n", where, encryptionText(e))
		}
	}
	for _, w := range ls.warnings {
		fmt.Fprintf(stdout, "warning: %s\n", escapeText(w))
	}
	return nil
}

// encryptedOfViews lists the encrypted volumes every checkpoint's disks
// hold (one view per checkpoint and disk), the volume groups of each
// checkpoint's disks joined as ls and the mount join them: an encrypted
// LVM volume may lie over two disks.
func encryptedOfViews(views []diskView, g *guest.Options) []encryptedJSON {
	var out []encryptedJSON
	for _, group := range checkpointViews(views) {
		var all []*guest.Volume
		for _, dv := range group {
			vols, err := volumesOf(dv, g)
			if err != nil {
				continue // check reports a partition table that cannot be read
			}
			all = append(all, vols...)
		}
		all, _ = joinVolumes(all, g) // a failed join leaves them as they were
		for _, e := range encryptedOf(all) {
			e.Checkpoint = group[0].checkpoint
			out = append(out, e)
		}
	}
	return out
}

func printDisk(j diskJSON) {
	p := func(k, format string, a ...any) {
		fmt.Fprintf(stdout, "  %-20s %s\n", k+":", escapeText(fmt.Sprintf(format, a...)))
	}
	fmt.Fprintln(stdout, escapeText(j.File))
	p("format", "%s %s", j.Format, j.Type)
	p("virtual size", "%s (%d bytes)", humanize.IBytes(uint64(j.VirtualSize)), j.VirtualSize)
	p("block size", "%s", humanize.IBytes(uint64(j.BlockSize)))
	p("sectors", "%d logical, %d physical", j.LogicalSectorSize, j.PhysicalSectorSize)
	p("file size", "%s, %s of blocks allocated", humanize.IBytes(uint64(j.FileSize)), humanize.IBytes(uint64(j.Allocated)))
	p("disk id", "%s", j.DiskID)
	p("data write guid", "%s", j.DataWriteGUID)
	p("structures used", "%s", j.Header)
	switch {
	case j.LogReplayed:
		p("log", "dirty: %d entries replayed in memory (file unchanged)", j.LogEntries)
	case j.Format == "vhdx":
		p("log", "clean")
	}
	if j.Parent != nil {
		resolved := "NOT FOUND"
		if j.Parent.File != nil {
			resolved = *j.Parent.File
		}
		p("parent", "%s (linkage %s)", resolved, j.Parent.Linkage)
		if j.Parent.RelativePath != "" {
			p("parent relative", "%s", j.Parent.RelativePath)
		}
		if j.Parent.AbsolutePath != "" {
			p("parent absolute", "%s", j.Parent.AbsolutePath)
		}
	}
	for _, w := range j.Warnings {
		p("warning", "%s", w)
	}
}
