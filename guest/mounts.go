package guest

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// MountPoint is where a Linux guest mounts one of its volumes, as its
// /etc/fstab says.
type MountPoint struct {
	Path   string  // "/", "/boot", "/var/www" (clean, absolute)
	Volume *Volume // the volume mounted there
	// FS holds the files at Path: Volume.FS, or a btrfs subvolume of it
	// (Dir then names it below Volume.FS's root when that root is the
	// subvolume's ancestor, as on Fedora's top level: "root"; "."
	// otherwise).
	FS      fs.FS
	Dir     string
	Subvol  string // btrfs: the subvolume's path below the top level, when fstab names one
	Spec    string // the fstab device field, unescaped: "UUID=...", "/dev/mapper/rhel-root"
	Type    string // the fstab type field
	Options string
	// Guessed is set for "/" when fstab names no device for it that is
	// here: the volume that holds /etc/fstab is taken as the root.
	Guessed bool
}

// Filesystem types and options whose entries mount no volume of the
// checkpoint: swap, memory and kernel filesystems, network shares, bind
// and overlay mounts. Their device fields mostly fail parseDevice
// anyway; the type catches "/dev/..." specs of these too.
var skipTypes = map[string]bool{
	"swap": true, "none": true, "tmpfs": true, "proc": true, "sysfs": true, "devpts": true,
	"devtmpfs": true, "nfs": true, "nfs4": true, "cifs": true, "smb3": true, "smbfs": true,
	"9p": true, "virtiofs": true, "overlay": true, "fuse": true, "fuse.sshfs": true,
}

// MountPoints finds the Linux root filesystem among vols (a volume, or
// a btrfs root subvolume in it, that holds /etc/fstab and os-release),
// reads its /etc/fstab and maps each mount point to the volume it names:
// by UUID=, LABEL=, PARTUUID=, PARTLABEL= (or /dev/disk/by-*/), by LVM
// name (/dev/mapper/VG-LV, /dev/VG/LV), by the name of a decrypted LUKS
// volume (/dev/mapper/NAME with NAME from /etc/crypttab, or luks-<UUID>),
// or by kernel name (/dev/sda2), which is mapped through the order of
// the checkpoint's disks (see devices.matches). An entry naming a device
// that is not here, or more than one volume, is left out; when none
// names "/", the root found is taken (Guessed). The result is sorted by
// Path; nil when no Linux root is found. The first root in vols' order
// is used.
func MountPoints(vols []*Volume) []MountPoint {
	rootVol, rootDir, fstab := findLinuxRoot(vols)
	if rootVol == nil {
		return nil
	}
	devs := newDevices(vols)
	if b, err := readSmallFile(rootVol.FS, path.Join(rootDir, "etc/crypttab")); err == nil {
		devs.crypt = parseCrypttab(b)
	}
	byPath := map[string]MountPoint{}
	for _, e := range ParseFstab(fstab) {
		mp, ok := devs.mountPointOf(e)
		if ok {
			byPath[mp.Path] = mp // a later line mounts over an earlier one
		}
	}
	if _, ok := byPath["/"]; !ok {
		byPath["/"] = MountPoint{Path: "/", Volume: rootVol, FS: rootVol.FS, Dir: rootDir, Guessed: true}
	}
	out := make([]MountPoint, 0, len(byPath))
	for _, mp := range byPath {
		out = append(out, mp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// rootDirs are where a Linux root may lie in a volume: its root, or the
// root subvolume of the usual btrfs layouts (Fedora's "root", Ubuntu's
// and openSUSE's "@", "@rootfs") seen from the top level.
var rootDirs = []string{".", "root", "@", "@rootfs"}

// findLinuxRoot returns the first volume (and the directory in it) that
// holds etc/fstab and os-release, and that fstab's bytes.
func findLinuxRoot(vols []*Volume) (*Volume, string, []byte) {
	for _, v := range vols {
		if v.FS == nil || v.IsShadow() || !LinksArePOSIX(v.FS) {
			continue
		}
		for _, dir := range rootDirs {
			b, err := readSmallFile(v.FS, path.Join(dir, "etc/fstab"))
			if err != nil {
				continue
			}
			if _, ok := linuxInfo(v.FS, dir); ok {
				return v, dir, b
			}
		}
	}
	return nil, "", nil
}

// devices are the volumes an fstab entry may name, with their
// identities and disk indexes read once.
type devices struct {
	vols []*Volume
	ids  []Identity
	disk []int // index of the volume's disk in the checkpoint's order
	// crypt maps the names /etc/crypttab gives decrypted volumes to the
	// encrypted devices.
	crypt map[string]deviceRef
}

// newDevices lists the volumes of vols a guest could mount: not shadow
// copies (they have no device in the guest) nor a btrfs volume's
// "-toplevel" sibling (the volume itself is the device).
func newDevices(vols []*Volume) *devices {
	d := &devices{}
	var disks []string
	for _, v := range vols {
		if v.disk != "" && (len(disks) == 0 || disks[len(disks)-1] != v.disk) {
			disks = append(disks, v.disk)
		}
		if v.IsShadow() || hasLayer(v, "btrfs-toplevel") {
			continue
		}
		d.vols = append(d.vols, v)
		d.ids = append(d.ids, v.Identity())
		d.disk = append(d.disk, len(disks)-1)
	}
	return d
}

// mountPointOf maps one fstab entry to the volume it mounts.
func (d *devices) mountPointOf(e FstabEntry) (MountPoint, bool) {
	if skipTypes[e.Type] || !strings.HasPrefix(e.File, "/") {
		return MountPoint{}, false
	}
	if _, bind := e.Option("bind"); bind {
		return MountPoint{}, false
	}
	if _, rbind := e.Option("rbind"); rbind {
		return MountPoint{}, false
	}
	ref, ok := parseDevice(e.Spec)
	if !ok {
		return MountPoint{}, false
	}
	v := d.find(ref, e.Type)
	if v == nil || v.FS == nil {
		return MountPoint{}, false
	}
	mp := MountPoint{Path: path.Clean(e.File), Volume: v, FS: v.FS, Dir: ".", Spec: e.Spec, Type: e.Type,
		Options: strings.Join(e.Options, ",")}
	if b, ok := v.FS.(btrfsFS); ok {
		if !btrfsMount(&mp, b, e) {
			return MountPoint{}, false
		}
	}
	return mp, true
}

// btrfsMount points mp at the subvolume the entry's subvolid= or subvol=
// option names (subvolid wins, as in the kernel); false when there is
// no such subvolume.
func btrfsMount(mp *MountPoint, b btrfsFS, e FstabEntry) bool {
	v := b.Volume()
	want := ""
	if s, ok := e.Option("subvolid"); ok {
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return false
		}
		if want, err = v.SubvolumePath(id); err != nil {
			return false
		}
	} else if s, ok := e.Option("subvol"); ok {
		want = strings.Trim(path.Clean("/"+s), "/")
	} else {
		return true // the default subvolume: what Volume.FS shows
	}
	mp.Subvol = want
	here, err := v.SubvolumePath(b.SubvolumeID())
	if err != nil {
		return false
	}
	switch {
	case want == here:
		mp.Dir = "."
	case here == "":
		mp.Dir = want // Volume.FS is the top level: the subvolume is a directory of it
	default:
		top, err := v.Subvolume(5)
		if err != nil {
			return false
		}
		mp.FS, mp.Dir = btrfsFS{top}, want
	}
	if mp.Dir == "" {
		mp.Dir = "."
	}
	st, err := fs.Stat(mp.FS, mp.Dir)
	return err == nil && st.IsDir()
}

// find returns the one volume ref names, or nil.
func (d *devices) find(ref deviceRef, fstype string) *Volume {
	var found *Volume
	for i, v := range d.vols {
		if !d.matches(i, ref) || (ref.kind == "disk" && !typeFits(v, fstype)) {
			continue
		}
		if found != nil {
			return nil // two volumes share the name (a cloned disk): not ours to pick
		}
		found = v
	}
	return found
}

func hasLayer(v *Volume, layer string) bool {
	for _, l := range v.Layers {
		if l == layer {
			return true
		}
	}
	return false
}

// matches reports whether volume i is the device ref names. A kernel
// name (sda2) is taken through the order of the checkpoint's disks, the
// VM's controller order, which is the order the guest's kernel finds
// them in on Hyper-V's one SCSI controller; typeFits checks the guess.
func (d *devices) matches(i int, ref deviceRef) bool {
	id := d.ids[i]
	switch ref.kind {
	case "uuid":
		return id.UUID != "" && strings.EqualFold(id.UUID, ref.value)
	case "label":
		return id.Label != "" && id.Label == ref.value
	case "partuuid":
		return id.PartUUID != "" && strings.EqualFold(id.PartUUID, ref.value)
	case "partlabel":
		return id.PartLabel != "" && id.PartLabel == ref.value
	case "lvm":
		return id.VG != "" && id.VG+"/"+id.LV == ref.value
	case "mapper":
		if ref.value != "" && id.VG != "" && id.VG+"/"+id.LV == ref.value {
			return true
		}
		if id.CryptUUID == "" {
			return false
		}
		if src, ok := d.crypt[ref.name]; ok {
			return d.encryptedBy(i, src)
		}
		u, ok := strings.CutPrefix(ref.name, "luks-")
		return ok && strings.EqualFold(u, id.CryptUUID)
	case "disk":
		return id.PartUUID != "" && d.vols[i].Number == ref.part && d.disk[i] == ref.disk
	}
	return false
}

// encryptedBy reports whether volume i was decrypted from the device
// src a crypttab line names: by the LUKS header's UUID, or by the
// partition it lies in.
func (d *devices) encryptedBy(i int, src deviceRef) bool {
	switch src.kind {
	case "uuid":
		return strings.EqualFold(d.ids[i].CryptUUID, src.value)
	case "partuuid", "partlabel", "disk":
		return d.matches(i, src)
	}
	return false
}

// typeFits checks that a volume found by a kernel device name has the
// filesystem the entry says ("auto" fits all): the guess from the disk
// order is taken only when the bytes agree with it.
func typeFits(v *Volume, fstype string) bool {
	switch fstype {
	case "auto", "":
		return true
	case "vfat", "msdos":
		return strings.HasPrefix(v.FSType, "fat")
	case "ext2", "ext3", "ext4":
		return strings.HasPrefix(v.FSType, "ext")
	}
	return v.FSType == fstype
}

// errNoMountPoint is ResolveMountPath's error for a path no mount point
// covers (there is always "/" when mps is not empty, so only when mps
// is); it wraps fs.ErrNotExist.
var errNoMountPoint = fmt.Errorf("no mount point covers the path: %w", fs.ErrNotExist)

// ResolveMountPath finds the mount point of mps that covers the absolute
// guest path p (the longest one) and returns it with the path in its FS
// (fs.ValidPath form, "." for the mount point itself).
func ResolveMountPath(mps []MountPoint, p string) (MountPoint, string, error) {
	p = path.Clean("/" + p)
	best := -1
	for i, mp := range mps {
		if (p == mp.Path || mp.Path == "/" || strings.HasPrefix(p, mp.Path+"/")) &&
			(best < 0 || len(mp.Path) > len(mps[best].Path)) {
			best = i
		}
	}
	if best < 0 {
		return MountPoint{}, "", errNoMountPoint
	}
	mp := mps[best]
	rest := strings.TrimPrefix(strings.TrimPrefix(p, mp.Path), "/")
	return mp, path.Join(mp.Dir, rest), nil
}
