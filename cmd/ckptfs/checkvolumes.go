package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/errclass"
	"github.com/ckptfs/ckptfs/vhdx"
)

// diskView is one disk as one checkpoint sees it: the image whose guest
// volumes check opens.
type diskView struct {
	vm, checkpoint string // empty for a single disk file given as SRC
	disk           string // the disk's name as the mount shows it
	img            interface {
		io.ReaderAt
		Size() int64
	}
}

// where names the view in a problem line.
func (dv diskView) where() string {
	var parts []string
	if dv.vm != "" {
		parts = append(parts, "VM "+dv.vm)
	}
	if dv.checkpoint != "" {
		parts = append(parts, "checkpoint "+dv.checkpoint)
	}
	return strings.Join(append(parts, "disk "+dv.disk), ", ")
}

// volumeReport is what check found in one guest volume.
type volumeReport struct {
	VM         string `json:"vm,omitempty"`
	Checkpoint string `json:"checkpoint,omitempty"`
	Volume     string `json:"volume"`
	FS         string `json:"fs"`
	Read       bool   `json:"read"`              // the filesystem was opened and walked
	Journal    string `json:"journal,omitempty"` // how a dirty log was treated (guest.Volume.Journal)
	Files      int64  `json:"files"`             // entries walked
	OddNames   int64  `json:"odd_names"`         // entries the mount cannot show under their stored names
	// Deduplicated counts files whose content is in the chunk store of a
	// Windows Data Deduplication volume: listed, but not readable.
	Deduplicated int64    `json:"deduplicated,omitempty"`
	Problems     []string `json:"problems"`
}

// Bounds of the walk: a hostile volume may loop (a directory listed as its
// own descendant) or be huge; check stops there and says so.
const (
	maxCheckDepth   = 256
	maxCheckEntries = 20_000_000
	maxVolProblems  = 20
)

// where names the view and volume in a problem line.
func (r *volumeReport) where() string {
	var parts []string
	if r.VM != "" {
		parts = append(parts, "VM "+r.VM)
	}
	if r.Checkpoint != "" {
		parts = append(parts, "checkpoint "+r.Checkpoint)
	}
	parts = append(parts, fmt.Sprintf("volume %s (%s)", r.Volume, r.FS))
	return strings.Join(parts, ", ")
}

func (r *volumeReport) problem(format string, args ...any) {
	if len(r.Problems) == maxVolProblems {
		r.Problems = append(r.Problems, "... more problems in this volume are not listed")
	}
	if len(r.Problems) > maxVolProblems {
		return
	}
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// checkVolumes opens every guest volume of every view and walks its
// directory tree, opening each file: what fails is what the mount would
// leave out or answer with an error.
func checkVolumes(ctx context.Context, views []diskView, g *guest.Options) ([]volumeReport, error) {
	var out []volumeReport
	for _, group := range checkpointViews(views) {
		var all []*guest.Volume
		for _, dv := range group {
			vols, err := volumesOf(dv, g)
			if err != nil {
				r := volumeReport{VM: dv.vm, Checkpoint: dv.checkpoint, Volume: dv.disk, FS: "disk", Problems: []string{}}
				r.problem("reading the partition table: %v", err)
				out = append(out, r)
				continue
			}
			all = append(all, vols...)
		}
		dv := group[0]
		all, err := joinVolumes(all, g)
		if err != nil {
			r := volumeReport{VM: dv.vm, Checkpoint: dv.checkpoint, Volume: dv.disk, FS: "disk", Problems: []string{}}
			r.problem("joining the volume groups of the disks: %v", err)
			out = append(out, r)
		}
		for _, v := range all {
			if err := ctx.Err(); err != nil {
				return out, errInterrupted
			}
			r := volumeReport{VM: dv.vm, Checkpoint: dv.checkpoint, Volume: v.Name, FS: v.FSType, Problems: []string{}}
			switch {
			case v.FS != nil:
				r.Read = true
				r.Journal = v.Journal
				// A log left unreplayed is a problem unless --no-recovery
				// asked for that.
				if guest.JournalSkipped(v.Journal) && (g == nil || !g.NoRecovery) {
					r.problem("log %s", v.Journal)
				}
				// Parts that cannot be read (missing devices of a btrfs
				// filesystem over several disks): not clean.
				if v.Warning != "" {
					r.problem("%s", v.Warning)
				}
				walkVolume(ctx, v.FS, &r)
				// Damage a reader worked around while opening or listing
				// (exFAT: a boot region read from its backup, entry sets
				// failing their checksums and left out).
				if w, ok := v.FS.(interface{ Warnings() []error }); ok {
					for _, err := range w.Warnings() {
						r.problem("%v", err)
					}
				}
			case v.Err != nil:
				r.problem("cannot be read, the mount leaves it out: %v", v.Err)
			}
			out = append(out, r)
		}
	}
	return out, ctx.Err()
}

// checkpointViews splits views into those of one checkpoint's disks,
// which are opened together: a volume may lie over several (an LVM group
// grown onto a second disk). A view of no checkpoint (a disk file given
// as SRC) is alone.
func checkpointViews(views []diskView) [][]diskView {
	var out [][]diskView
	for i := 0; i < len(views); {
		n := 1
		for i+n < len(views) && views[i].checkpoint != "" && views[i+n].vm == views[i].vm && views[i+n].checkpoint == views[i].checkpoint {
			n++
		}
		out = append(out, views[i:i+n])
		i += n
	}
	return out
}

// joinVolumes is guest.JoinVolumeGroups, turning a panic into an error
// (vols are then returned as they were).
func joinVolumes(vols []*guest.Volume, g *guest.Options) (out []*guest.Volume, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = vols, fmt.Errorf("internal error (recovered panic): %v", p)
		}
	}()
	return g.JoinVolumeGroups(vols), nil
}

// volumesOf lists a view's volumes, turning a parser panic into an error.
func volumesOf(dv diskView, g *guest.Options) (vols []*guest.Volume, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error (recovered panic): %v", p)
		}
	}()
	return g.Volumes(dv.img, dv.img.Size(), dv.disk)
}

// deduplicated is offered by NTFS files (ntfs.FileRecordInfo): a file of a
// Data Deduplication volume, whose content is in the chunk store.
type deduplicated interface{ Deduplicated() bool }

// walkVolume lists every directory and opens every file of fsys. Names
// that cannot be shown as stored (empty, ".", "..", holding "/" or NUL, or
// listed twice in one directory: a damaged or hostile index) are counted
// and named: NTFS lists them renamed (OriginalName tells), a filesystem
// that does not is told here.
func walkVolume(ctx context.Context, fsys fs.FS, r *volumeReport) {
	defer func() {
		if p := recover(); p != nil {
			r.problem("internal error (recovered panic) while reading: %v", p)
		}
	}()
	r.Files = 1 // the root
	stack := []string{"."}
	for len(stack) > 0 {
		if ctx.Err() != nil {
			return
		}
		dir := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ents, err := fs.ReadDir(fsys, dir)
		if err != nil {
			r.problem("%s: %v", dir, err) // what was listed is still checked
		}
		seen := make(map[string]bool, len(ents))
		for _, e := range ents {
			name := e.Name()
			if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
				r.OddNames++
				r.problem("%s: entry %q is not a name Linux can show (the mount leaves it out)", dir, name)
				continue
			}
			if seen[name] {
				r.OddNames++
				r.problem("%s: %q is listed twice (a damaged index; the mount shows the first)", dir, name)
				continue
			}
			seen[name] = true
			if o, ok := e.(interface{ OriginalName() string }); ok && o.OriginalName() != "" {
				r.OddNames++
				r.problem("%s: %q is stored as %q, which Linux cannot show or which is listed twice (a damaged index): the mount and cp show it as %q", dir, name, o.OriginalName(), name)
			}
			p := path.Join(dir, name)
			r.Files++
			if r.Files > maxCheckEntries {
				r.problem("more than %d entries: the rest was not checked", maxCheckEntries)
				return
			}
			info, err := e.Info()
			if err != nil {
				r.problem("%s: %v", p, err)
				continue
			}
			if dd, ok := info.Sys().(deduplicated); ok && dd.Deduplicated() {
				r.Deduplicated++
			}
			switch {
			case e.IsDir() && strings.Count(p, "/") >= maxCheckDepth:
				r.problem("%s: deeper than %d levels (a directory loop?): not walked further", p, maxCheckDepth)
			case e.IsDir():
				stack = append(stack, p)
			case e.Type().IsRegular():
				if err := probeFile(fsys, p); err != nil && errclass.Of(err) != errclass.Unsupported {
					// (a valid feature not read, such as EFS, is no damage)
					r.problem("%s: %v", p, err)
				}
			}
		}
	}
}

// probeFile opens a file and reads its last byte: that walks the whole
// map of its data (an NTFS runlist, a FAT cluster chain, ext extents)
// without reading the data itself, so a file cut short or pointing
// outside its volume shows here and not only when read.
func probeFile(fsys fs.FS, p string) error {
	f, err := fsys.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	ra, ok := f.(io.ReaderAt)
	if !ok || st.Size() <= 0 {
		return nil
	}
	var b [1]byte
	if _, err := ra.ReadAt(b[:], st.Size()-1); err != nil && err != io.EOF {
		return fmt.Errorf("reading its last byte (of %d): %w", st.Size(), err)
	}
	return nil
}

// catalogViews lists every disk of every checkpoint, named as the mount
// names them.
func catalogViews(cat *catalog.Catalog) []diskView {
	var views []diskView
	for _, vm := range cat.VMs {
		vmName := ""
		if len(cat.VMs) > 1 {
			vmName = vm.Name
		}
		for _, cp := range vm.Checkpoints {
			var names catalog.Namer
			for _, d := range cp.Disks {
				stem := names.Name(d.Name)
				if d.Chain != nil {
					views = append(views, diskView{vm: vmName, checkpoint: cp.Name, disk: stem, img: d.Chain})
				}
			}
		}
	}
	return views
}

// chainView is the one view of a single disk file given as SRC.
func chainView(file string, c *vhdx.Chain) diskView {
	stem := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	return diskView{disk: stem, img: c}
}
