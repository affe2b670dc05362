//go:build linux

package fs

import (
	"context"
	"encoding/json"
	"fmt"
	iofs "io/fs"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/vhdx"
	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// jsonName is the metadata file of every checkpoint directory.
const jsonName = catalog.CheckpointJSON

// checkpointDir is checkpoints/<name>/. Its disks/, volumes/ and
// checkpoint.json are made with the tree; the volume directories, the
// files of volumes/ and shadows/ only when something looks inside, because
// finding them reads partition tables and filesystems. The names follow
// catalog.CheckpointNamer, as every command's do.
type checkpointDir struct {
	dirNode
	root    *Root
	vm      *catalog.VM
	c       *catalog.Checkpoint
	disks   []*diskEntry
	names   *catalog.CheckpointNamer
	volDir  *gofs.Inode // volumes/
	shadows *gofs.Inode // shadows/, made with the first shadow copy

	once sync.Once
	vols []*volEntry
}

// diskEntry is one disk of the checkpoint as the tree shows it.
type diskEntry struct {
	d    *catalog.Disk
	stem string // disks/<stem>.raw and the volume name prefix
	img  vhdx.Image
	err  error
}

// volEntry is one volume found on a disk, with or without a directory.
type volEntry struct {
	disk string
	v    *guest.Volume
	name string // "" when the volume has no bytes to show
	dir  string // path of its directory in the checkpoint dir; "" when the filesystem is not readable
}

var (
	_ = (gofs.NodeOnAdder)((*checkpointDir)(nil))
	_ = (gofs.NodeLookuper)((*checkpointDir)(nil))
	_ = (gofs.NodeReaddirer)((*checkpointDir)(nil))
)

// OnAdd makes disks/ with one raw image per disk, volumes/ (filled by
// scan), and checkpoint.json.
func (cd *checkpointDir) OnAdd(ctx context.Context) {
	disks := cd.NewPersistentInode(ctx, &dirNode{mtime: cd.mtime}, gofs.StableAttr{Mode: syscall.S_IFDIR})
	cd.AddChild(catalog.DisksDir, disks, false)
	cd.volDir = cd.NewPersistentInode(ctx, &lazyDir{dirNode: dirNode{mtime: cd.mtime}, fill: cd.scan},
		gofs.StableAttr{Mode: syscall.S_IFDIR})
	cd.AddChild(catalog.VolumesDir, cd.volDir, false)
	cd.names = catalog.NewCheckpointNamer()
	for _, d := range cd.c.Disks {
		e := &diskEntry{d: d, stem: cd.names.Disk(d.Name)}
		e.img, e.err = cd.root.imageOf(d)
		cd.disks = append(cd.disks, e)
		if e.err != nil {
			logOnce(e.err)
			continue
		}
		raw := &rawFile{img: e.img, mtime: cd.mtime}
		disks.AddChild(e.stem+catalog.RawSuffix, disks.NewPersistentInode(ctx, raw, gofs.StableAttr{}), false)
	}
	js := &bytesFile{mtime: cd.mtime, make: cd.json}
	cd.AddChild(jsonName, cd.NewPersistentInode(ctx, js, gofs.StableAttr{}), false)
}

// scan finds the volumes of every disk, once, joins what lies over
// several of them (an LVM volume group grown onto a second disk), and
// adds a raw file for each and a directory for each readable filesystem.
func (cd *checkpointDir) scan(ctx context.Context) {
	cd.once.Do(func() {
		var all []*guest.Volume
		from := map[*guest.Volume]*diskEntry{}
		byName := map[string]*diskEntry{}
		for _, e := range cd.disks {
			if e.img == nil {
				continue
			}
			vols, err := cd.volumes(e)
			if err != nil {
				logOnce(err)
				e.err = err
				continue
			}
			byName[e.stem] = e
			for _, v := range vols {
				from[v] = e
			}
			all = append(all, vols...)
		}
		all = cd.join(all)
		for _, v := range all {
			e := from[v]
			if e == nil {
				e = byName[v.DiskName()]
			}
			if e == nil {
				logOnce(fmt.Errorf("checkpoint %s: volume %s of no disk of the checkpoint left out", cd.c.Name, v.Name))
				continue
			}
			cd.addVolume(ctx, e, v)
		}
	})
}

// join opens the volumes that lie over several disks; a panic in it
// leaves the volumes as each disk gave them.
func (cd *checkpointDir) join(vols []*guest.Volume) (out []*guest.Volume) {
	defer func() {
		if r := recover(); r != nil {
			logOnce(fmt.Errorf("checkpoint %s: joining volume groups over its disks: %w", cd.c.Name, panicError{r}))
			out = vols
		}
	}()
	join := cd.root.joinVolumes
	if join == nil {
		join = guest.JoinVolumeGroups
	}
	return join(vols)
}

// volumes calls the guest layer, turning a panic in a parser into an error.
func (cd *checkpointDir) volumes(e *diskEntry) (vols []*guest.Volume, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("disk %s: reading volumes: %w", e.d.File, panicError{r})
		}
	}()
	vols, err = cd.root.volumesOf(e.img, e.img.Size(), e.stem)
	if err != nil {
		err = fmt.Errorf("disk %s: reading volumes: %w", e.d.File, err)
	}
	return vols, err
}

// addVolume adds volumes/<name>.raw for a volume with bytes, and its
// directory (in shadows/ for a shadow copy) when its filesystem is
// readable.
func (cd *checkpointDir) addVolume(ctx context.Context, e *diskEntry, v *guest.Volume) {
	ve := &volEntry{disk: e.stem, v: v}
	cd.vols = append(cd.vols, ve)
	if v == nil {
		return
	}
	if v.Reader != nil || v.FS != nil {
		ve.name = cd.names.Volume(v.Name)
	}
	if v.Reader != nil && v.Size > 0 {
		raw := &rawFile{img: volumeImage(e.img, v), mtime: cd.mtime}
		cd.volDir.AddChild(ve.name+catalog.RawSuffix, cd.volDir.NewPersistentInode(ctx, raw, gofs.StableAttr{}), false)
	}
	if v.FS == nil {
		if v.Err != nil {
			// Say why the volume has no directory: otherwise the
			// reason is only in checkpoint.json.
			logOnce(fmt.Errorf("checkpoint %s: volume %s (%s) left out: %w", cd.c.Name, v.Name, v.FSType, v.Err))
		}
		return
	}
	inos, err := cd.root.vols.take()
	if err != nil {
		logOnce(fmt.Errorf("checkpoint %s, volume %s: %w", cd.c.Name, v.Name, err))
		return
	}
	vol := &volume{fsys: v.FS, inos: inos, mtime: cd.mtime, start: v.Start, ignoreCase: cd.root.opts.IgnoreCase, noOpen: &cd.root.noOpen,
		kernelACL: &cd.root.kernelACL, pre: newPrefetcher(v.FS)}
	if ms, ok := v.FS.(guest.MetafileShower); ok && cd.root.opts.ShowMetafiles {
		ms.SetShowMetafiles(true)
	}
	if dv, ok := e.img.(viewer); ok && !v.Remapped {
		vol.disk = dv
	}
	// The root's own FileInfo gives its times and identity; without one
	// it takes the checkpoint's time.
	rootInfo, err := iofs.Stat(v.FS, ".")
	if err != nil {
		rootInfo = nil
	}
	vol.rootInfo = rootInfo
	node, attr := vol.node(".", rootInfo)
	dir := cd.EmbeddedInode()
	ve.dir = ve.name
	if v.IsShadow() {
		if cd.shadows == nil {
			cd.shadows = cd.NewPersistentInode(ctx, &dirNode{mtime: cd.mtime}, gofs.StableAttr{Mode: syscall.S_IFDIR})
			cd.AddChild(catalog.ShadowsDir, cd.shadows, false)
		}
		dir, ve.dir = cd.shadows, catalog.ShadowsDir+"/"+ve.name
	}
	dir.AddChild(ve.name, dir.NewPersistentInode(ctx, node, attr), false)
}

// Lookup finds disks/, volumes/, shadows/, checkpoint.json or a volume
// directory.
func (cd *checkpointDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	cd.scan(ctx)
	return lookupChild(ctx, cd.EmbeddedInode(), name, out)
}

// lookupChild answers a lookup of a child the tree already holds.
func lookupChild(ctx context.Context, n *gofs.Inode, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ch := n.GetChild(name)
	if ch == nil {
		return nil, syscall.ENOENT
	}
	if ga, ok := ch.Operations().(gofs.NodeGetattrer); ok {
		var a fuse.AttrOut
		if errno := ga.Getattr(ctx, nil, &a); errno != 0 {
			return nil, errno
		}
		out.Attr = a.Attr
	}
	out.SetEntryTimeout(cacheTimeout)
	out.SetAttrTimeout(cacheTimeout)
	return ch, 0
}

// Readdir lists disks/, volumes/, shadows/, checkpoint.json and the volume
// directories.
func (cd *checkpointDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	cd.scan(ctx)
	return sortedChildren(cd.EmbeddedInode()), 0
}

// checkpointJSON is the layout of checkpoint.json.
type checkpointJSON struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	VM      string       `json:"vm"`
	Created *string      `json:"created"` // RFC 3339, null when unknown
	Parent  *string      `json:"parent"`  // parent checkpoint id, null for the first
	Live    bool         `json:"live"`
	Disks   []diskJSON   `json:"disks"`
	Volumes []volumeJSON `json:"volumes"`
	// OS lists the operating systems installed on the volumes
	// (guest.DetectOS); left out when none is found.
	OS []osJSON `json:"os,omitempty"`
}

type osJSON struct {
	Volume   string `json:"volume"`
	Family   string `json:"family"` // "windows" or "linux"
	Name     string `json:"name"`
	Version  string `json:"version,omitempty"`
	Hostname string `json:"hostname,omitempty"`
}

type diskJSON struct {
	Name  string   `json:"name"`
	Image string   `json:"image,omitempty"` // path under the checkpoint dir
	File  string   `json:"file"`            // the checkpoint's own disk file
	Size  int64    `json:"size"`
	Chain []string `json:"chain"` // file names, this checkpoint's first, base last
	Error string   `json:"error,omitempty"`
}

// mountJSON is one place the guest mounts a volume: a btrfs volume may
// be mounted at several, each a subvolume.
type mountJSON struct {
	Path   string `json:"path"`
	Subvol string `json:"subvol,omitempty"`
}

type volumeJSON struct {
	Name     string `json:"name"`
	Dir      string `json:"dir,omitempty"` // directory in the checkpoint dir (shadows/<name> for a shadow copy), "" when not readable
	Raw      string `json:"raw,omitempty"` // volumes/<name>.raw, "" when the volume has no bytes to show
	Disk     string `json:"disk"`
	Number   int    `json:"number"`
	Start    int64  `json:"start"`
	Size     int64  `json:"size"`
	Table    string `json:"table"`
	PartType string `json:"part_type,omitempty"`
	PartName string `json:"part_name,omitempty"`
	PartGUID string `json:"part_guid,omitempty"` // GPT unique partition GUID
	// Drive is the letter the Windows installed on the checkpoint's disks
	// gave the volume ("C:"; guest.DriveLetters).
	Drive string `json:"drive,omitempty"`
	// Mountpoint is where the Linux installed on the checkpoint's disks
	// mounts the volume (its /etc/fstab; guest.MountPoints): the first
	// of Mounts, which lists them all when there are several or a btrfs
	// subvolume is named.
	Mountpoint string      `json:"mountpoint,omitempty"`
	Mounts     []mountJSON `json:"mounts,omitempty"`
	FSType     string      `json:"fs_type"`
	Label      string      `json:"label"`
	// Purpose is what a volume without a filesystem we read is for
	// (guest.Volume.Purpose).
	Purpose string `json:"purpose,omitempty"`
	// Warning says what of a volume that opened cannot be read
	// (guest.Volume.Warning: missing devices of a btrfs filesystem).
	Warning string `json:"warning,omitempty"`
	// Journal is how a dirty filesystem log was treated (guest.Volume.Journal).
	Journal string `json:"journal,omitempty"`
	// What the volume's bytes went through (see guest.Layer), and what a
	// layer says about it.
	Layers     []string `json:"layers,omitempty"`
	Encryption string   `json:"encryption,omitempty"`
	Locked     bool     `json:"locked,omitempty"`
	ShadowOf   string   `json:"shadow_of,omitempty"`
	Created    *string  `json:"created,omitempty"` // of a shadow copy, RFC 3339
	// Protectors are an encrypted volume's key protector types;
	// UnlockedBy is the one that opened it.
	Protectors []string `json:"protectors,omitempty"`
	UnlockedBy string   `json:"unlocked_by,omitempty"`
	// A shadow copy's store identifier, and whether Windows no longer
	// exposes it (offline: vssadmin does not list it; null for volumes
	// that are not shadow copies).
	ShadowID string `json:"shadow_id,omitempty"`
	Offline  *bool  `json:"offline,omitempty"`
	Error    string `json:"error,omitempty"`
}

// json renders checkpoint.json; it needs the volume scan.
func (cd *checkpointDir) json() ([]byte, error) {
	cd.scan(context.Background())
	c := cd.c
	j := checkpointJSON{ID: c.ID, Name: c.Name, VM: cd.vm.Name, Live: c.Live,
		Disks: []diskJSON{}, Volumes: []volumeJSON{}}
	if !c.Created.IsZero() {
		s := c.Created.UTC().Format(time.RFC3339)
		j.Created = &s
	}
	if c.Parent != nil {
		j.Parent = &c.Parent.ID
	}
	for _, e := range cd.disks {
		j.Disks = append(j.Disks, diskJSONOf(e))
	}
	var vs []*guest.Volume
	for _, ve := range cd.vols {
		if ve.v != nil {
			vs = append(vs, ve.v)
		}
	}
	letters := guest.DriveLetters(vs)
	mounts := map[*guest.Volume][]mountJSON{}
	for _, mp := range guest.MountPoints(vs) {
		mounts[mp.Volume] = append(mounts[mp.Volume], mountJSON{Path: mp.Path, Subvol: mp.Subvol})
	}
	for _, o := range guest.DetectOS(vs) {
		j.OS = append(j.OS, osJSON{Volume: o.Volume.Name, Family: o.Family, Name: o.Name, Version: o.Version, Hostname: o.Hostname})
	}
	for _, ve := range cd.vols {
		if ve.v != nil {
			vj := volumeJSONOf(ve)
			vj.Drive = letters[ve.v]
			if ms := mounts[ve.v]; len(ms) > 0 {
				vj.Mountpoint = ms[0].Path
				if len(ms) > 1 || ms[0].Subvol != "" {
					vj.Mounts = ms
				}
			}
			j.Volumes = append(j.Volumes, vj)
		}
	}
	b, err := json.MarshalIndent(j, "", "  ")
	return append(b, '\n'), err
}

func diskJSONOf(e *diskEntry) diskJSON {
	dj := diskJSON{Name: e.stem, File: filepath.Base(e.d.File), Chain: []string{}}
	if e.img != nil {
		dj.Image = catalog.DisksDir + "/" + e.stem + catalog.RawSuffix
		dj.Size = e.img.Size()
	}
	if e.d.Chain != nil {
		for _, l := range e.d.Chain.Layers {
			dj.Chain = append(dj.Chain, filepath.Base(l.Name))
		}
	}
	if e.err != nil {
		dj.Error = e.err.Error()
	}
	return dj
}

func volumeJSONOf(ve *volEntry) volumeJSON {
	v := ve.v
	vj := volumeJSON{Name: v.Name, Dir: ve.dir, Disk: ve.disk, Number: v.Number, Start: v.Start,
		Size: v.Size, Table: v.Table, PartType: v.PartType, PartName: v.PartName, PartGUID: v.PartGUID,
		FSType: v.FSType, Label: v.Label, Journal: v.Journal, Layers: v.Layers, Encryption: v.Encryption, Locked: v.Locked,
		ShadowOf: v.ShadowOf, Protectors: v.Protectors, UnlockedBy: v.UnlockedBy, Purpose: v.Purpose, Warning: v.Warning}
	if ve.name != "" && v.Reader != nil && v.Size > 0 {
		vj.Raw = catalog.VolumesDir + "/" + ve.name + catalog.RawSuffix
	}
	if !v.Created.IsZero() {
		c := v.Created.UTC().Format(time.RFC3339)
		vj.Created = &c
	}
	if v.IsShadow() {
		off := v.ShadowOffline
		vj.ShadowID, vj.Offline = v.ShadowID, &off
	}
	if v.Err != nil {
		vj.Error = v.Err.Error()
	}
	return vj
}
