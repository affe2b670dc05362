package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
)

type lsOptions struct {
	src  sourceOptions
	json bool
}

func lsCommand() *command {
	o := &lsOptions{}
	return &command{
		name: "ls", args: "SRC [CHECKPOINT [VOL/PATH]] [--json]", short: "list VMs and their checkpoint trees; a checkpoint's volumes; a guest folder",
		flags: func(f *pflag.FlagSet) {
			o.src.AddFlags(f)
			o.src.AddKeyFlags(f)
			f.BoolVar(&o.json, "json", false, "print one JSON object")
		},
		nargs: func(n int) bool { return n >= 1 && n <= 3 },
		run:   o.run,
	}
}

// The JSON shape is fixed by the command line contract in DESIGN.md.
type lsJSON struct {
	VMs []lsVM `json:"vms"`
	// PendingMerges lists interrupted merges (absent when none).
	PendingMerges []lsPending `json:"pending_merges,omitempty"`
	// Warnings is what the text output prints after the tree: files
	// left out, loose disks not put together (absent when none).
	Warnings []string `json:"warnings,omitempty"`
}

// lsPending is an interrupted merge: the checkpoint it deletes, its
// journal, and the command that completes it.
type lsPending struct {
	Checkpoint string `json:"checkpoint"`
	Journal    string `json:"journal"`
	Command    string `json:"command"`
}

type lsVM struct {
	Name        string         `json:"name"`
	ID          string         `json:"id"`
	Config      *string        `json:"config"`
	Checkpoints []lsCheckpoint `json:"checkpoints"`
}

type lsCheckpoint struct {
	Name    string   `json:"name"`
	ID      string   `json:"id"`
	Created *string  `json:"created"`
	Parent  *string  `json:"parent"`
	Live    bool     `json:"live"`
	Disks   []string `json:"disks"`
	// BeingMerged: an interrupted merge is deleting the checkpoint.
	BeingMerged bool `json:"being_merged,omitempty"`
	// DiskSizes has one entry per disk, in the order of Disks.
	DiskSizes []lsDiskSize `json:"disk_sizes"`
	// Encrypted lists the checkpoint's encrypted volumes (BitLocker):
	// locked or not, their protector types. Left out when there are none.
	Encrypted []encryptedJSON `json:"encrypted_volumes,omitempty"`
	// Shadows lists the Volume Shadow Copies of the checkpoint's volumes.
	Shadows []lsShadow `json:"shadows"`
	// OS lists the operating systems installed on them (left out when
	// none is found).
	OS []lsOS `json:"os,omitempty"`
}

// lsDiskSize gives a disk's sizes at one checkpoint: the virtual disk,
// and the checkpoint's own file (its length and the bytes it occupies on
// the host, smaller for a sparse file; null where the source cannot tell).
type lsDiskSize struct {
	File        string `json:"file"`
	Name        string `json:"name"`
	VirtualSize *int64 `json:"virtual_size"`
	FileSize    *int64 `json:"file_size"`
	Allocated   *int64 `json:"allocated"`
}

// lsShadow is one Volume Shadow Copy of a volume of a checkpoint.
type lsShadow struct {
	Volume  string `json:"volume"`        // the live volume, "Disk0-p2"
	Dir     string `json:"dir,omitempty"` // "shadows/Disk0-p2@2021-03-13T22.13.17"; "" when unreadable
	ID      string `json:"id"`            // store identifier
	Created string `json:"created"`       // RFC 3339, UTC, with fractions
	Offline bool   `json:"offline"`       // Windows no longer exposes it (vssadmin does not list it)
	Error   string `json:"error,omitempty"`
}

// shadowsOf lists the shadow copies among a checkpoint's volumes.
func shadowsOf(vols []namedVolume) []lsShadow {
	out := []lsShadow{}
	for _, nv := range vols {
		v := nv.v
		if !v.IsShadow() {
			continue
		}
		dir := ""
		if v.FS != nil && nv.name != "" {
			dir = nv.dir()
		}
		sh := lsShadow{Volume: v.ShadowOf, Dir: dir, ID: v.ShadowID,
			Created: v.Created.UTC().Format(time.RFC3339Nano), Offline: v.ShadowOffline}
		if v.Err != nil {
			sh.Error = v.Err.Error()
		}
		out = append(out, sh)
	}
	return out
}

func (o *lsOptions) run(ctx context.Context, args []string) error {
	g, err := o.src.guestOptions()
	if err != nil {
		return err
	}
	if len(args) > 1 {
		cat, cp, err := o.src.openCheckpoint(args[0], args[1])
		if err != nil {
			return err
		}
		defer cat.Close()
		if len(args) == 2 {
			return o.listVolumes(cp, g)
		}
		return o.listPath(cp, g, args[2])
	}
	cat, err := o.src.open(args[0])
	if err != nil {
		return err
	}
	defer cat.Close()
	facts := volumeFacts(cat, g)
	if o.json {
		return printJSON(lsObject(cat, facts))
	}
	for i, vm := range cat.VMs {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		cfg := "no configuration: checkpoints named by disk file"
		if vm.Config != "" {
			cfg = vm.Config
		}
		fmt.Fprintf(stdout, "%s  (%s)\n", escapeText(vm.Name), escapeText(cfg))
		printTree(vm, nil, "  ", facts)
	}
	for _, w := range cat.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", escapeText(w))
	}
	return nil
}

// checkpointFacts is what ls says about each checkpoint's volumes.
type checkpointFacts struct {
	enc     map[*catalog.Checkpoint][]encryptedJSON
	shadows map[*catalog.Checkpoint][]lsShadow
	os      map[*catalog.Checkpoint][]lsOS
}

// lsOS is an operating system installed on a checkpoint's volumes
// (guest.DetectOS).
type lsOS struct {
	Volume   string `json:"volume"`
	Family   string `json:"family"` // "windows" or "linux"
	Name     string `json:"name"`
	Version  string `json:"version,omitempty"`
	Hostname string `json:"hostname,omitempty"`
}

func osList(vs []*guest.Volume) []lsOS {
	var out []lsOS
	for _, d := range guest.DetectOS(vs) {
		out = append(out, lsOS{Volume: d.Volume.Name, Family: d.Family, Name: d.Name, Version: d.Version, Hostname: d.Hostname})
	}
	return out
}

// osText is one line about an installed OS.
func osText(s lsOS) string {
	line := s.Name
	if s.Version != "" && s.Family == "windows" {
		line += " (" + s.Version + ")"
	}
	if s.Hostname != "" {
		line += ", host " + s.Hostname
	}
	return escapeText(line) + " on " + escapeText(s.Volume)
}

// volumeFacts finds the encrypted volumes, the shadow copies and the
// installed operating systems of every checkpoint (reading partition
// tables, first sectors, shadow copy catalogs, registry hives and
// os-release, and unlocking with g's keys), in one scan of its volumes.
func volumeFacts(cat *catalog.Catalog, g *guest.Options) *checkpointFacts {
	out := map[*catalog.Checkpoint][]encryptedJSON{}
	shadows := map[*catalog.Checkpoint][]lsShadow{}
	oses := map[*catalog.Checkpoint][]lsOS{}
	for _, vm := range cat.VMs {
		for _, cp := range vm.Checkpoints {
			vols, err := checkpointVolumes(cp, g)
			if err != nil {
				continue // the disk's own fault; check and info report it
			}
			var vs []*guest.Volume
			for _, nv := range vols {
				vs = append(vs, nv.v)
			}
			if e := encryptedOf(vs); len(e) > 0 {
				out[cp] = e
			}
			shadows[cp] = shadowsOf(vols)
			oses[cp] = osList(vs)
		}
	}
	return &checkpointFacts{enc: out, shadows: shadows, os: oses}
}

func lsObject(cat *catalog.Catalog, f *checkpointFacts) lsJSON {
	out := lsJSON{VMs: []lsVM{}, Warnings: cat.Warnings}
	for _, p := range cat.Pending {
		out.PendingMerges = append(out.PendingMerges, lsPending{Checkpoint: p.Checkpoint, Journal: p.Journal, Command: p.Command(cat.Source)})
	}
	for _, vm := range cat.VMs {
		v := lsVM{Name: vm.Name, ID: vm.ID, Checkpoints: []lsCheckpoint{}}
		if vm.Config != "" {
			v.Config = &vm.Config
		}
		for _, cp := range vm.Checkpoints {
			c := lsCheckpoint{Name: cp.Name, ID: cp.ID, Live: cp.Live, Disks: []string{}, BeingMerged: cp.Merging != nil}
			if !cp.Created.IsZero() {
				s := cp.Created.UTC().Format(time.RFC3339)
				c.Created = &s
			}
			if cp.Parent != nil {
				c.Parent = &cp.Parent.ID
			}
			c.DiskSizes = []lsDiskSize{}
			for _, d := range cp.Disks {
				c.Disks = append(c.Disks, d.File)
				c.DiskSizes = append(c.DiskSizes, diskSizes(d))
			}
			c.Encrypted = f.enc[cp]
			c.Shadows = f.shadows[cp]
			c.OS = f.os[cp]
			if c.Shadows == nil {
				c.Shadows = []lsShadow{}
			}
			v.Checkpoints = append(v.Checkpoints, c)
		}
		out.VMs = append(out.VMs, v)
	}
	return out
}

// printTree prints the checkpoints under parent, children indented.
func printTree(vm *catalog.VM, parent *catalog.Checkpoint, indent string, f *checkpointFacts) {
	for _, cp := range vm.Checkpoints {
		if cp.Parent != parent {
			continue
		}
		created := "time unknown"
		if !cp.Created.IsZero() {
			created = cp.Created.Local().Format("2006-01-02 15:04:05")
		}
		live := ""
		if cp.Live {
			live = "  [live]"
		}
		if cp.Merging != nil {
			live = "  [being merged]"
		}
		var disks []string
		for _, d := range cp.Disks {
			if d.Err != nil {
				disks = append(disks, d.Name+" (not readable until the merge completes)")
				continue
			}
			if d.Chain == nil {
				disks = append(disks, d.Name+" (unreadable)")
				continue
			}
			disks = append(disks, fmt.Sprintf("%s %s (%s)", d.Name, humanize.IBytes(uint64(d.Chain.Size())), plural(len(d.Chain.Layers), "layer")))
		}
		fmt.Fprintf(stdout, "%s%s  %s%s  %s\n", indent, escapeText(cp.Name), created, live, escapeText(strings.Join(disks, ", ")))
		for _, s := range f.os[cp] {
			fmt.Fprintf(stdout, "%s    %s\n", indent, osText(s))
		}
		for _, e := range f.enc[cp] {
			fmt.Fprintf(stdout, "%s    %s: %s\n", indent, escapeText(e.Volume), encryptionText(e))
		}
		for _, sh := range f.shadows[cp] {
			note := ""
			if sh.Offline {
				note = "  [offline]"
			}
			if sh.Error != "" {
				note += "  (unreadable: " + sh.Error + ")"
			}
			name := sh.Dir
			if name == "" {
				name = "shadow of " + sh.Volume
			}
			fmt.Fprintf(stdout, "%s    %s  store %s%s\n", indent, escapeText(name), sh.ID, escapeText(note))
		}
		printTree(vm, cp, indent+"  ", f)
	}
}

// diskSizes reads a disk's sizes: the virtual size from its chain, the
// file's length and allocation from the host.
func diskSizes(d *catalog.Disk) lsDiskSize {
	out := lsDiskSize{File: d.File, Name: d.Name}
	if d.Chain != nil {
		v := d.Chain.Size()
		out.VirtualSize = &v
	}
	if size, alloc, ok := fileAllocation(d.File); ok {
		out.FileSize, out.Allocated = &size, &alloc
	}
	return out
}
