package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/errclass"
)

// namedVolume is a volume under the name the mount gives it (its
// directory, or shadows/ directory, and volumes/<name>.raw); name is ""
// for a volume with neither bytes nor files.
type namedVolume struct {
	name string
	v    *guest.Volume
}

// dir is the volume's directory in the checkpoint dir, as the mount shows
// it: "<name>", or "shadows/<name>" for a shadow copy.
func (nv namedVolume) dir() string {
	if nv.v.IsShadow() {
		return catalog.ShadowsDir + "/" + nv.name
	}
	return nv.name
}

// checkpointVolumes finds the volumes of every disk of a checkpoint, joins
// what lies over several disks (guest.JoinVolumeGroups: an LVM volume
// group grown onto a second disk) and names them as the mount does
// (catalog.CheckpointNamer): every volume with bytes or files, in disk and
// volume order.
func checkpointVolumes(cp *catalog.Checkpoint, g *guest.Options) ([]namedVolume, error) {
	names := catalog.NewCheckpointNamer()
	var all []*guest.Volume
	for _, d := range cp.Disks {
		stem := names.Disk(d.Name)
		if d.Chain == nil {
			continue
		}
		vols, err := g.Volumes(d.Chain, d.Chain.Size(), stem)
		if err != nil {
			return nil, fmt.Errorf("disk %s: %w", d.File, err)
		}
		all = append(all, vols...)
	}
	var out []namedVolume
	for _, v := range g.JoinVolumeGroups(all) {
		nv := namedVolume{v: v}
		if v.Reader != nil || v.FS != nil {
			nv.name = names.Volume(v.Name)
		}
		out = append(out, nv)
	}
	return out, nil
}

// diskMembers is catalog.Options.Members: the LVM physical volumes a
// disk state holds, by which the catalog puts disks without a VM
// configuration together (guest.GroupMembers). A parser panic is an
// error: the disk is then left alone.
func diskMembers(r io.ReaderAt, size int64) (out []catalog.Member, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("internal error (recovered panic): %v", p)
		}
	}()
	ms, err := guest.GroupMembers(r, size)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		out = append(out, catalog.Member{Group: m.Group, ID: m.ID, Lists: m.Lists, Seqno: m.Seqno, Desc: m.Desc})
	}
	return out, nil
}

// resolveGuestPath splits "VOL/path/in/volume" (or
// "shadows/VOL/path/in/volume") and opens the volume. An absolute Linux
// path ("/etc/fstab") goes through the guest's mount points
// (mountpoints.go), a drive letter ("C:\Users") through Windows'
// registry (driveToVolume). A Windows path
// pasted as it is ("Disk0-p2\Users\alice") works too: backslashes
// separate names on a Windows volume (NTFS, FAT), where no name holds
// one, and in a path that names no volume with them in.
func resolveGuestPath(cp *catalog.Checkpoint, g *guest.Options, p string) (fs.FS, string, error) {
	vols, err := checkpointVolumes(cp, g)
	if err != nil {
		return nil, "", err
	}
	if isMountPath(vols, p) {
		return resolveMountPath(cp, vols, p)
	}
	if letter, rest, ok := cutDriveLetter(p); ok {
		if p, err = driveToVolume(cp, vols, letter, rest); err != nil {
			return nil, "", err
		}
	}
	fsys, rest, err := resolveIn(cp, vols, p)
	if errors.Is(err, fs.ErrNotExist) && strings.Contains(p, `\`) {
		return resolveIn(cp, vols, strings.ReplaceAll(p, `\`, "/"))
	}
	return fsys, rest, err
}

// cutDriveLetter splits "C:", `C:\path` or "c:/path" into the letter
// ("C:") and the rest.
func cutDriveLetter(p string) (letter, rest string, ok bool) {
	if len(p) < 2 || p[1] != ':' || !('a' <= p[0]|0x20 && p[0]|0x20 <= 'z') {
		return "", "", false
	}
	if len(p) > 2 && p[2] != '/' && p[2] != '\\' {
		return "", "", false
	}
	return strings.ToUpper(p[:2]), p[2:], true
}

// driveToVolume rewrites a path on drive letter X: as the path in the
// volume the checkpoint's Windows installation calls X: (its registry's
// MountedDevices, guest.DriveLetters).
func driveToVolume(cp *catalog.Checkpoint, vols []namedVolume, letter, rest string) (string, error) {
	vs := make([]*guest.Volume, len(vols))
	for i, nv := range vols {
		vs[i] = nv.v
	}
	letters := guest.DriveLetters(vs)
	var known []string
	for _, nv := range vols {
		if l := letters[nv.v]; l != "" && nv.name != "" {
			if l == letter {
				return nv.dir() + rest, nil
			}
			known = append(known, l+" "+nv.dir())
		}
	}
	if len(known) == 0 {
		return "", fmt.Errorf("drive %s %w (no Windows installation with drive letters found in checkpoint %q: name the volume as the mount does)", letter, fs.ErrNotExist, cp.Name)
	}
	sort.Strings(known)
	return "", fmt.Errorf("drive %s %w (Windows in checkpoint %q has: %s)", letter, fs.ErrNotExist, cp.Name, strings.Join(known, ", "))
}

// resolveIn is resolveGuestPath over the checkpoint's volumes.
func resolveIn(cp *catalog.Checkpoint, vols []namedVolume, p string) (fs.FS, string, error) {
	p = strings.Trim(p, "/")
	for _, c := range strings.Split(p, "/") {
		if c == "." || c == ".." {
			return nil, "", fmt.Errorf("%w: guest path %s: \".\" and \"..\" are not allowed (VOL/path is taken inside the volume as written)", errUsage, quoteName(p))
		}
	}
	var names []string
	for _, nv := range vols {
		if nv.v.FS == nil {
			continue
		}
		dir := nv.dir()
		if rest, ok := strings.CutPrefix(p, dir); ok && (rest == "" || rest[0] == '/') {
			rest = strings.TrimPrefix(rest, "/")
			if !guest.LinksArePOSIX(nv.v.FS) {
				rest = strings.Trim(strings.ReplaceAll(rest, `\`, "/"), "/")
				for _, c := range strings.Split(rest, "/") {
					if c == "." || c == ".." {
						return nil, "", fmt.Errorf("%w: guest path %s: \".\" and \"..\" are not allowed (VOL/path is taken inside the volume as written)", errUsage, quoteName(p))
					}
				}
			}
			if rest == "" {
				rest = "."
			}
			return nv.v.FS, foldPath(nv.v.FS, rest), nil
		}
		names = append(names, dir)
	}
	vol, _, _ := strings.Cut(p, "/")
	// A volume the mount leaves out: name the reason, not "does not exist".
	for _, nv := range vols {
		if nv.v.FS == nil && (nv.name == vol || nv.v.Name == vol) {
			if nv.v.Err != nil {
				return nil, "", fmt.Errorf("volume %q (%s) cannot be read: %w", vol, nv.v.FSType, nv.v.Err)
			}
			return nil, "", fmt.Errorf("volume %q: filesystem %s: %w", vol, nv.v.FSType, errNoFilesystem)
		}
	}
	sort.Strings(names)
	return nil, "", fmt.Errorf("volume %q: %w (checkpoint %q has: %s)", vol, fs.ErrNotExist, cp.Name, strings.Join(names, ", "))
}

// pickVolume finds the readable volume a checkpoint shows as the
// directory vol ("Disk0-p2", "shadows/Disk0-p2@2021-03-13T22.13.17").
func pickVolume(cp *catalog.Checkpoint, vols []namedVolume, vol string) (*guest.Volume, error) {
	var names []string
	for _, nv := range vols {
		if nv.v.FS == nil || nv.name == "" {
			continue
		}
		if nv.dir() == vol {
			return nv.v, nil
		}
		names = append(names, nv.dir())
	}
	sort.Strings(names)
	return nil, fmt.Errorf("volume %q: %w (checkpoint %q has: %s)", vol, fs.ErrNotExist, cp.Name, strings.Join(names, ", "))
}

// foldPath returns the path as stored that p names on a filesystem that
// matches names as Windows does (NTFS), when p itself does not exist:
// users/ALICE/notes.txt finds Users/alice/Notes.txt, an exact name first.
// A ":stream" suffix is kept. Otherwise p is returned as is, for the
// caller's own error.
func foldPath(fsys fs.FS, p string) string {
	fl, ok := fsys.(guest.FoldLookuper)
	if !ok || p == "." {
		return p
	}
	dir, base := path.Split(p)
	name, stream, hasStream := strings.Cut(base, ":")
	q := path.Join(dir, name)
	if _, err := lstat(fsys, q); !errors.Is(err, fs.ErrNotExist) {
		return p
	}
	real, err := fl.ResolveFold(q)
	if err != nil {
		return p
	}
	if hasStream {
		real += ":" + stream
	}
	return real
}

// errNoFilesystem: the volume exists but holds no filesystem ckptfs reads.
var errNoFilesystem = errclass.New(errclass.Unsupported, "no filesystem ckptfs can read")

// volumeBytes opens volumes/<name>.raw: the bytes of one volume.
func volumeBytes(cp *catalog.Checkpoint, g *guest.Options, file string) (io.Reader, error) {
	vols, err := checkpointVolumes(cp, g)
	if err != nil {
		return nil, err
	}
	for _, nv := range vols {
		if nv.name != "" && nv.name+catalog.RawSuffix == file && nv.v.Reader != nil {
			return io.NewSectionReader(nv.v.Reader, 0, nv.v.Size), nil
		}
	}
	// A volume listed but unreadable (a logical or dynamic volume missing
	// a disk, refused metadata) has no image: its reason and class, not
	// "does not exist".
	for _, nv := range vols {
		if nv.name == "" && nv.v.Reader == nil && nv.v.Err != nil && nv.v.Name+catalog.RawSuffix == file {
			return nil, fmt.Errorf("volume image %q: the volume cannot be read: %w", file, nv.v.Err)
		}
	}
	return nil, fmt.Errorf("volume image %q: %w", file, fs.ErrNotExist)
}

// encryptedJSON is an encrypted volume as ls and info list it.
type encryptedJSON struct {
	Checkpoint string   `json:"checkpoint,omitempty"`
	Volume     string   `json:"volume"`
	Encryption string   `json:"encryption"`
	Locked     bool     `json:"locked"`
	Protectors []string `json:"protectors"`
	UnlockedBy string   `json:"unlocked_by,omitempty"`
	Error      string   `json:"error,omitempty"`
}

func encryptedOf(vols []*guest.Volume) []encryptedJSON {
	var out []encryptedJSON
	for _, v := range vols {
		if v.Encryption == "" {
			continue
		}
		e := encryptedJSON{Volume: v.Name, Encryption: v.Encryption, Locked: v.Locked,
			Protectors: append([]string{}, v.Protectors...), UnlockedBy: v.UnlockedBy}
		if v.Err != nil && !v.Locked {
			e.Error = v.Err.Error()
		}
		out = append(out, e)
	}
	return out
}

// encryptionText is one line about an encrypted volume: "BitLocker,
// locked (protectors: password, recovery password)".
func encryptionText(e encryptedJSON) string {
	name := e.Encryption
	switch {
	case name == "bitlocker":
		name = "BitLocker"
	case strings.HasPrefix(name, "luks"):
		name = strings.ToUpper(name)
	}
	prot := strings.Join(e.Protectors, ", ")
	switch {
	case e.Locked:
		return fmt.Sprintf("%s, locked (protectors: %s)", name, prot)
	case e.Error != "":
		return fmt.Sprintf("%s, cannot be opened: %s", name, e.Error)
	}
	return fmt.Sprintf("%s, unlocked by %s (protectors: %s)", name, e.UnlockedBy, prot)
}
