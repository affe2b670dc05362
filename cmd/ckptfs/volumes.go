package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/errclass"
)

// namedVolume is a readable volume under the directory name the mount
// gives it; dir is "" for a volume the mount leaves out.
type namedVolume struct {
	dir string
	v   *guest.Volume
}

// checkpointVolumes finds the volumes of every disk of a checkpoint and
// names them as the mount does: disk names through one catalog.Namer,
// volume directories through another that keeps "disks" and
// "checkpoint.json" for the mount's own entries.
func checkpointVolumes(cp *catalog.Checkpoint) ([]namedVolume, error) {
	var disks, dirs catalog.Namer
	dirs.Reserve("disks")
	dirs.Reserve("checkpoint.json")
	var out []namedVolume
	for _, d := range cp.Disks {
		stem := disks.Name(d.Name)
		if d.Chain == nil {
			continue
		}
		vols, err := guest.Volumes(d.Chain, d.Chain.Size(), stem)
		if err != nil {
			return nil, fmt.Errorf("disk %s: %w", d.File, err)
		}
		for _, v := range vols {
			if v.FS != nil {
				out = append(out, namedVolume{dir: dirs.Name(v.Name), v: v})
			} else {
				out = append(out, namedVolume{v: v})
			}
		}
	}
	return out, nil
}

// errNoFilesystem: the volume exists but holds no filesystem ckptfs reads.
var errNoFilesystem = errclass.New(errclass.Unsupported, "no filesystem ckptfs can read")

// resolveGuestPath splits "VOL/path/in/volume" and opens the volume.
func resolveGuestPath(cp *catalog.Checkpoint, p string) (fs.FS, string, error) {
	p = strings.Trim(p, "/")
	vol, rest, _ := strings.Cut(p, "/")
	if rest == "" {
		rest = "."
	}
	vols, err := checkpointVolumes(cp)
	if err != nil {
		return nil, "", err
	}
	var names []string
	for _, nv := range vols {
		if nv.dir != "" && nv.dir == vol {
			return nv.v.FS, foldPath(nv.v.FS, rest), nil
		}
		if nv.dir != "" {
			names = append(names, nv.dir)
		}
	}
	// A volume the mount leaves out: name the reason, not "does not exist".
	for _, nv := range vols {
		if nv.dir == "" && nv.v.Name == vol {
			if nv.v.Err != nil {
				return nil, "", fmt.Errorf("volume %q (%s) cannot be read: %w", vol, nv.v.FSType, nv.v.Err)
			}
			return nil, "", fmt.Errorf("volume %q: filesystem %s: %w", vol, nv.v.FSType, errNoFilesystem)
		}
	}
	sort.Strings(names)
	return nil, "", fmt.Errorf("volume %q: %w (checkpoint %q has: %s)", vol, fs.ErrNotExist, cp.Name, strings.Join(names, ", "))
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
