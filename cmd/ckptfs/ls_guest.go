package main

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
)

// `ckptfs ls SRC CHECKPOINT` lists a checkpoint's volumes and `ckptfs ls
// SRC CHECKPOINT VOL/PATH` a folder of one, as the mount would show them:
// browsing without FUSE (a container, a machine without /dev/fuse)
// before a `ckptfs cp`.

// lsVolumeJSON is one volume of `ls SRC CHECKPOINT --json`.
type lsVolumeJSON struct {
	Dir    string `json:"dir,omitempty"` // as the mount shows it; "" when its files cannot be read
	Name   string `json:"name"`
	FSType string `json:"fs_type"`
	Size   int64  `json:"size"`
	Label  string `json:"label,omitempty"`
	Drive  string `json:"drive,omitempty"`
	// Mountpoint is where the checkpoint's Linux mounts the volume (the
	// first of Mounts, which lists them all when there are several or a
	// btrfs subvolume is named).
	Mountpoint string      `json:"mountpoint,omitempty"`
	Mounts     []mountJSON `json:"mounts,omitempty"`
	Encryption string      `json:"encryption,omitempty"`
	Locked     bool        `json:"locked,omitempty"`
	ShadowOf   string      `json:"shadow_of,omitempty"`
	Error      string      `json:"error,omitempty"`
	// Purpose is what a volume without a filesystem we read is for
	// (guest.Volume.Purpose).
	Purpose string `json:"purpose,omitempty"`
	// Warning says what of a readable volume cannot be read
	// (guest.Volume.Warning).
	Warning string `json:"warning,omitempty"`
}

// lsEntryJSON is one entry of `ls SRC CHECKPOINT VOL/PATH --json`.
type lsEntryJSON struct {
	Name   string `json:"name"`
	Type   string `json:"type"` // "file", "dir", "symlink" or "other"
	Size   int64  `json:"size"`
	Mode   string `json:"mode"` // permission bits, octal
	MTime  string `json:"mtime"`
	Target string `json:"target,omitempty"` // a symlink's
	mtime  time.Time
}

// listVolumes prints the checkpoint's volumes.
func (o *lsOptions) listVolumes(cp *catalog.Checkpoint, g *guest.Options) error {
	vols, err := checkpointVolumes(cp, g)
	if err != nil {
		return err
	}
	vs := make([]*guest.Volume, len(vols))
	for i, nv := range vols {
		vs[i] = nv.v
	}
	letters := guest.DriveLetters(vs)
	mounts := volumeMounts(vs)
	out := []lsVolumeJSON{}
	for _, nv := range vols {
		v := nv.v
		j := lsVolumeJSON{Name: v.Name, FSType: v.FSType, Size: v.Size, Label: v.Label, Drive: letters[v],
			Encryption: v.Encryption, Locked: v.Locked, ShadowOf: v.ShadowOf, Purpose: v.Purpose, Warning: v.Warning}
		if v.FS != nil && nv.name != "" {
			j.Dir = nv.dir()
		}
		j.Mountpoint, j.Mounts = mountFields(mounts[v])
		if v.Err != nil {
			j.Error = v.Err.Error()
		}
		out = append(out, j)
	}
	oses := osList(vs)
	if o.json {
		return printJSON(struct {
			Checkpoint string         `json:"checkpoint"`
			Volumes    []lsVolumeJSON `json:"volumes"`
			OS         []lsOS         `json:"os,omitempty"`
		}{cp.Name, out, oses})
	}
	for _, s := range oses {
		fmt.Fprintln(stdout, osText(s))
	}
	col := 3 // the drive letter or mount point column: "C:", "/boot"
	for _, j := range out {
		col = max(col, len(escapeText(placeText(j))))
	}
	for _, j := range out {
		name := j.Dir
		if name == "" {
			name = j.Name
		}
		var notes []string
		if j.Label != "" {
			notes = append(notes, quoteName(j.Label))
		}
		if len(j.Mounts) > 0 {
			notes = append(notes, "mounted at "+escapeText(mountText(j.Mounts)))
		}
		if j.Encryption != "" {
			if j.Locked {
				notes = append(notes, j.Encryption+", locked")
			} else {
				notes = append(notes, j.Encryption)
			}
		}
		if j.Dir == "" && j.Error != "" && !j.Locked {
			notes = append(notes, "not readable: "+escapeText(j.Error))
		}
		if j.Purpose != "" && j.Error == "" { // else the error says it
			notes = append(notes, escapeText(j.Purpose))
		}
		if j.Warning != "" {
			notes = append(notes, "warning: "+escapeText(j.Warning))
		}
		fmt.Fprintf(stdout, "%-*s %-40s %-8s %10s  %s\n", col, escapeText(placeText(j)), escapeText(name), j.FSType,
			humanize.IBytes(uint64(max(j.Size, 0))), strings.Join(notes, "  "))
	}
	return nil
}

// placeText is where the guest has a volume, as ls's first column shows
// it: the drive letter, the (first) mount point, both, or "-".
func placeText(j lsVolumeJSON) string {
	var parts []string
	if j.Drive != "" {
		parts = append(parts, j.Drive)
	}
	if j.Mountpoint != "" {
		parts = append(parts, j.Mountpoint) // the others are in the notes
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// listPath prints a folder of a volume (or one file), like ls -l.
func (o *lsOptions) listPath(cp *catalog.Checkpoint, g *guest.Options, arg string) error {
	fsys, p, err := resolveGuestPath(cp, g, arg)
	if err != nil {
		return err
	}
	st, err := fs.Stat(fsys, p)
	if err != nil {
		return fmt.Errorf("%s: %w", arg, err)
	}
	var ents []lsEntryJSON
	if st.IsDir() {
		des, err := fs.ReadDir(fsys, p)
		if err != nil {
			return fmt.Errorf("%s: %w", arg, err)
		}
		for _, de := range des {
			fi, err := de.Info()
			if err != nil {
				ents = append(ents, lsEntryJSON{Name: de.Name(), Type: "other", Mode: "?"})
				continue
			}
			ents = append(ents, entryJSON(fsys, path.Join(p, de.Name()), fi))
		}
	} else {
		ents = append(ents, entryJSON(fsys, p, st))
	}
	if o.json {
		if ents == nil {
			ents = []lsEntryJSON{}
		}
		return printJSON(struct {
			Path    string        `json:"path"`
			Entries []lsEntryJSON `json:"entries"`
		}{arg, ents})
	}
	for _, e := range ents {
		name := escapeText(e.Name)
		if e.Target != "" {
			name += " -> " + escapeText(e.Target)
		}
		kind := map[string]string{"file": "-", "dir": "d", "symlink": "l"}[e.Type]
		if kind == "" {
			kind = "?"
		}
		fmt.Fprintf(stdout, "%s%s %12d %s  %s\n", kind, e.Mode, e.Size, e.mtime.Format("2006-01-02 15:04:05"), name)
	}
	return nil
}

func entryJSON(fsys fs.FS, p string, fi fs.FileInfo) lsEntryJSON {
	e := lsEntryJSON{Name: fi.Name(), Size: fi.Size(), Mode: fmt.Sprintf("%04o", fi.Mode().Perm()),
		MTime: fi.ModTime().UTC().Format(time.RFC3339Nano), mtime: fi.ModTime().UTC()}
	m := guest.MetaOf(fi)
	if m.POSIX {
		e.Mode = fmt.Sprintf("%04o", m.Perm)
	}
	switch t := fi.Mode().Type(); {
	case fi.IsDir():
		e.Type, e.Size = "dir", 0
	case t == 0:
		e.Type = "file"
	case t&fs.ModeSymlink != 0:
		e.Type = "symlink"
		if target, err := fs.ReadLink(fsys, p); err == nil {
			e.Target = target
		}
	default:
		e.Type = "other"
	}
	return e
}
