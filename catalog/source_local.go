package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ckptfs/ckptfs/internal/srcfile"
)

// Local is the local filesystem as a Source: paths as the OS spells them,
// files opened read-only with O_NOATIME where the owner allows it, and
// only regular files and block devices opened at all.
type Local struct{}

var _ Source = Local{}

func (Local) String() string { return "local filesystem" }

// Stat follows symbolic links.
func (Local) Stat(name string) (FileInfo, error) {
	st, err := os.Stat(name)
	if err != nil {
		return FileInfo{}, err
	}
	return localInfo(name, st, false), nil
}

// ReadDir lists name sorted by file name; links are described by their
// targets (a dangling link is left out).
func (Local) ReadDir(name string) ([]FileInfo, error) {
	ents, err := os.ReadDir(name)
	if err != nil && len(ents) == 0 {
		return nil, err
	}
	out := make([]FileInfo, 0, len(ents))
	for _, e := range ents {
		p := filepath.Join(name, e.Name())
		if e.Type()&fs.ModeSymlink != 0 {
			st, err := os.Stat(p)
			if err != nil {
				continue
			}
			out = append(out, localInfo(p, st, true))
			continue
		}
		st, err := e.Info()
		if err != nil {
			continue // gone since the listing
		}
		out = append(out, localInfo(p, st, false))
	}
	return out, nil
}

func localInfo(name string, st fs.FileInfo, link bool) FileInfo {
	fi := FileInfo{Name: name, Size: st.Size(), ModTime: st.ModTime(), IsDir: st.IsDir(), Link: link,
		Usable: srcfile.Usable(name, st.Mode()) == nil, Kind: srcfile.Kind(st.Mode())}
	fi.ID = statIdentity(st)
	return fi
}

// Open opens a regular file or block device (see package srcfile).
func (Local) Open(name string) (File, error) {
	f, st, size, err := srcfile.Open(name)
	if err != nil {
		if errors.Is(err, srcfile.ErrNotFile) {
			return nil, fmt.Errorf("%w: %s", ErrNotFile, strings.TrimPrefix(err.Error(), name+": "))
		}
		return nil, err
	}
	return &localFile{File: f, size: size, id: statIdentity(st)}, nil
}

// Abs makes name absolute; links are kept (a disk reached through a
// link keeps its own name), the forest finds duplicates by Identity.
func (Local) Abs(name string) (string, error) { return filepath.Abs(name) }

// Join joins a slash-separated relative path to dir.
func (Local) Join(dir, rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }

// Dir returns name's folder.
func (Local) Dir(name string) string { return filepath.Dir(name) }

// localFile is an open local file: a ReaderAt with the size and identity
// it had when opened, lockable with flock.
type localFile struct {
	*os.File
	size int64
	id   Identity
}

func (f *localFile) Size() int64        { return f.size }
func (f *localFile) Identity() Identity { return f.id }

// OSFile gives package vhdx the descriptor for read-ahead hints and
// zero-copy views.
func (f *localFile) OSFile() *os.File { return f.File }
