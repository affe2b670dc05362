package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
)

// An absolute Linux path ("/var/www/html/index.html") is taken through
// the mount points the checkpoint's Linux installation gives its volumes
// in /etc/fstab (guest.MountPoints), as a drive letter is through
// Windows' registry: the longest mount point that covers it names the
// volume (or btrfs subvolume). "/VOL/path", a path whose first name is a
// volume directory, keeps meaning VOL/path.

// mountJSON is one place a volume is mounted, in `ls --json` and
// checkpoint.json: a btrfs volume may be mounted at several, each a
// subvolume.
type mountJSON struct {
	Path   string `json:"path"`
	Subvol string `json:"subvol,omitempty"`
}

// volumeMounts lists where the Linux installed on vs mounts each volume,
// sorted by path (guest.MountPoints); nil when there is none.
func volumeMounts(vs []*guest.Volume) map[*guest.Volume][]mountJSON {
	mps := guest.MountPoints(vs)
	if len(mps) == 0 {
		return nil
	}
	out := map[*guest.Volume][]mountJSON{}
	for _, mp := range mps {
		out[mp.Volume] = append(out[mp.Volume], mountJSON{Path: mp.Path, Subvol: mp.Subvol})
	}
	return out
}

// mountFields gives the JSON fields of a volume's mount points: the
// first path, and the list when there are several or a subvolume is
// named.
func mountFields(ms []mountJSON) (string, []mountJSON) {
	if len(ms) == 0 {
		return "", nil
	}
	if len(ms) == 1 && ms[0].Subvol == "" {
		return ms[0].Path, nil
	}
	return ms[0].Path, ms
}

// mountText is a volume's mount points as ls shows them: "/boot", or
// "/ (root), /home (home)" for subvolumes of one btrfs volume.
func mountText(ms []mountJSON) string {
	var parts []string
	for _, m := range ms {
		s := m.Path
		if m.Subvol != "" {
			s += " (" + m.Subvol + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// isMountPath reports whether p is an absolute guest path to take
// through the mount points: it starts with "/" and its first name is no
// volume directory of the checkpoint (nor "shadows").
func isMountPath(vols []namedVolume, p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	first, _, _ := strings.Cut(strings.TrimLeft(p, "/"), "/")
	if first == catalog.ShadowsDir {
		return false
	}
	for _, nv := range vols {
		if nv.name == first || nv.v.Name == first {
			return false
		}
	}
	return true
}

// resolveMountPath opens the absolute guest path p through the mount
// points of the checkpoint's Linux installation.
func resolveMountPath(cp *catalog.Checkpoint, vols []namedVolume, p string) (fs.FS, string, error) {
	for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
		if c == "." || c == ".." {
			return nil, "", fmt.Errorf("%w: guest path %s: \".\" and \"..\" are not allowed (/path is taken through the guest's mount points as written)", errUsage, quoteName(p))
		}
	}
	vs := make([]*guest.Volume, len(vols))
	for i, nv := range vols {
		vs[i] = nv.v
	}
	mps := guest.MountPoints(vs)
	if len(mps) == 0 {
		// No Linux here: "/x" is VOL/path as before, and its error lists
		// the volumes.
		fsys, rest, err := resolveIn(cp, vols, p)
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w; no Linux installation with /etc/fstab found to take %s through its mount points", err, quoteName(p))
		}
		return fsys, rest, err
	}
	var known []string
	for _, m := range mps {
		known = append(known, m.Path+" "+dirOf(vols, m.Volume))
	}
	mp, rest, err := guest.ResolveMountPath(mps, p)
	if err != nil {
		return nil, "", fmt.Errorf("%s %w (Linux in checkpoint %q mounts: %s)", quoteName(p), fs.ErrNotExist, cp.Name, strings.Join(known, ", "))
	}
	// Say where a missing path was looked for: the volume may not be the
	// one the user had in mind.
	if _, err := lstat(mp.FS, rest); errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%s %w in %s mounted at %s (Linux in checkpoint %q mounts: %s)", quoteName(p), fs.ErrNotExist,
			path.Join(dirOf(vols, mp.Volume), mp.Dir), mp.Path, cp.Name, strings.Join(known, ", "))
	}
	return mp.FS, rest, nil
}

// dirOf is the directory the mount shows v as, or its name.
func dirOf(vols []namedVolume, v *guest.Volume) string {
	for _, nv := range vols {
		if nv.v == v && nv.name != "" {
			return nv.dir()
		}
	}
	return v.Name
}
