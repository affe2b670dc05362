package guest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/diskfs/go-diskfs/filesystem"
)

// diskFS presents a go-diskfs filesystem as a read-only io/fs.FS with the
// behaviour the FUSE layer relies on: ReadDir sorted by name, Stat with
// fs.ErrNotExist for missing names, files with ReadAt and Seek.
//
// go-diskfs filesystems are not documented as safe for concurrent use and
// their files keep a seek offset, so every call into inner holds mu, and
// every call is guarded against panics (see guard).
type diskFS struct {
	inner filesystem.FileSystem
	kind  string

	// On FAT, file content is read by cluster runs from the partition
	// (fatfile.go); go-diskfs only lists directories.
	fat  *fatTable
	r    io.ReaderAt
	size int64 // of the partition
	// On ISO 9660, every directory record and continuation area go-diskfs
	// reads is checked first (isoguard.go).
	iso *isoGuard

	dirs *dirCache
	mu   sync.Mutex
}

var (
	_ fs.FS         = (*diskFS)(nil)
	_ fs.ReadDirFS  = (*diskFS)(nil)
	_ fs.StatFS     = (*diskFS)(nil)
	_ fs.ReadLinkFS = (*diskFS)(nil)
	_ POSIXLinker   = (*diskFS)(nil)
)

func newDiskFS(inner filesystem.FileSystem, kind string) *diskFS {
	return &diskFS{inner: inner, kind: kind, dirs: newDirCache(dirCacheEntries)}
}

// call runs f under the lock and the panic guard. On ISO 9660 it returns
// the guard's refusal, with its type, in place of the text go-diskfs made
// of it.
func (d *diskFS) call(what string, f func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.iso != nil {
		d.iso.begin()
		err := guard(d.kind+" "+what, f)
		if refused := d.iso.refusal(); err != nil && refused != nil {
			return refused
		}
		return err
	}
	return guard(d.kind+" "+what, f)
}

func (d *diskFS) label() string {
	var l string
	_ = d.call("label", func() error { l = strings.TrimSpace(d.inner.Label()); return nil })
	return l
}

// caseless reports whether names compare without case, as on FAT (and
// plain ISO 9660); an exact match is still preferred.
func (d *diskFS) caseless() bool { return true }

// ReadDir lists a directory, sorted by name, without "." and "..".
func (d *diskFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	if name != "." {
		fi, err := d.Stat(name) // a link to a directory lists it

		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
		}
		ents, err := d.listDir(fi.(*fileInfo))
		return slices.Clone(ents), err
	}
	ents, err := d.listDir(rootInfo())
	return slices.Clone(ents), err
}

// listDir lists a directory found in its parent's listing. go-diskfs reads
// an ISO 9660 directory whole into a buffer of the size its entry
// records, so a size the volume cannot hold is refused before the call.
func (d *diskFS) listDir(fi *fileInfo) ([]fs.DirEntry, error) {
	if fi.dirBytes > d.size {
		return nil, &fs.PathError{Op: "readdir", Path: fi.path,
			Err: formatErr(0, "directory of %d bytes in a volume of %d", fi.dirBytes, d.size)}
	}
	if d.iso != nil && fi.dirBytes > maxISODirBytes {
		return nil, &fs.PathError{Op: "readdir", Path: fi.path,
			Err: fmt.Errorf("directory of %d bytes is larger than we read (%d): %w", fi.dirBytes, maxISODirBytes, ErrUnsupported)}
	}
	return d.readDir(fi)
}

var errNotDir = errors.New("not a directory")

// readDir lists a directory found by its path spelled as on disk. The listing may be shared with the
// cache: callers must not change it.
func (d *diskFS) readDir(fi *fileInfo) ([]fs.DirEntry, error) {
	dir := fi.path
	if ents, ok := d.dirs.Get(dir); ok {
		return ents, nil
	}
	var out []fs.DirEntry
	err := d.call("readdir", func() (err error) {
		out, err = d.listInner(dir)
		return err
	})
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: asFormat(err)}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	d.dirs.Put(dir, out)
	return out, nil
}

// listInner lists a directory through go-diskfs; called within d.call.
func (d *diskFS) listInner(dir string) ([]fs.DirEntry, error) {
	ents, err := d.inner.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]fs.DirEntry, 0, len(ents))
	for _, e := range ents {
		n := e.Name()
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00") {
			continue // a name the tree above cannot show
		}
		fi, err := e.Info()
		if err != nil {
			return nil, err
		}
		out = append(out, dirEntry{newFileInfo(path.Join(dir, n), fi, d.kind)})
	}
	return out, nil
}

// Stat describes name. FAT has no links, and go-diskfs does not read the
// targets of Rock Ridge links: nothing to follow.
func (d *diskFS) Stat(name string) (fs.FileInfo, error) { return d.lstat(name) }

// lstat finds name through its parent's listing, so that a missing name
// gives fs.ErrNotExist whatever go-diskfs would have said. A final
// symbolic link is not followed.
func (d *diskFS) lstat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return rootInfo(), nil
	}
	fi := rootInfo()
	for _, elem := range strings.Split(name, "/") {
		if !fi.IsDir() {
			return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
		}
		ents, err := d.listDir(fi)
		if err != nil {
			return nil, err
		}
		if fi = d.find(ents, elem); fi == nil {
			return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
		}
	}
	return fi, nil
}

// POSIXLinks reports that link targets are not POSIX paths: FAT has no
// links, and go-diskfs does not read Rock Ridge targets.
func (d *diskFS) POSIXLinks() bool { return false }

// Lstat describes name without following a final symbolic link.
func (d *diskFS) Lstat(name string) (fs.FileInfo, error) { return d.lstat(name) }

// ReadLink fails: go-diskfs does not tell the targets of Rock Ridge
// links, and FAT has none.
func (d *diskFS) ReadLink(name string) (string, error) {
	fi, err := d.lstat(name)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: unwrapPath(err)}
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return "", &fs.PathError{Op: "readlink", Path: name, Err: ErrUnsupported}
}

// find looks elem up in a listing sorted by name: by binary search, so
// that a lookup in a large directory does not cost its size.
func (d *diskFS) find(ents []fs.DirEntry, elem string) *fileInfo {
	i, found := slices.BinarySearchFunc(ents, elem, func(e fs.DirEntry, name string) int { return strings.Compare(e.Name(), name) })
	if found {
		return ents[i].(dirEntry).fi
	}
	if d.caseless() {
		for _, e := range ents {
			if strings.EqualFold(e.Name(), elem) {
				return e.(dirEntry).fi
			}
		}
	}
	return nil
}

// Open opens a file or directory for reading.
func (d *diskFS) Open(name string) (fs.File, error) {
	fi, err := d.lstat(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: unwrapPath(err)}
	}
	if fi.IsDir() {
		return &dirFile{d: d, fi: fi.(*fileInfo)}, nil
	}
	info := fi.(*fileInfo)
	var f fs.File
	err = d.call("open", func() (err error) {
		f, err = d.inner.Open(info.path)
		return err
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: asFormat(err)}
	}
	if d.iso != nil {
		data, err := d.isoData(f, info.size)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &file{d: d, data: data, fi: info}, nil
	}
	if d.fat != nil {
		data, err := d.fatData(f, info.size)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &file{d: d, data: data, fi: info}, nil
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		_ = f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: ErrUnsupported}
	}
	return &file{d: d, f: rs, closer: f, fi: info}, nil
}

// clusterChainer is what go-diskfs FAT files offer to tell where they lie.
type clusterChainer interface {
	GetClusterChain() ([]uint32, error)
}

// fatData closes the go-diskfs file f and returns its cluster runs. Only
// the first cluster is taken from go-diskfs, which does not export the
// directory entry's start cluster otherwise; the chain is walked in our
// own loop-checked FAT.
func (d *diskFS) fatData(f fs.File, size int64) (*fatData, error) {
	defer func() { _ = d.call("close", f.Close) }()
	if size == 0 {
		return &fatData{}, nil
	}
	cc, ok := f.(clusterChainer)
	if !ok {
		return nil, ErrUnsupported
	}
	var start uint32
	err := d.call("cluster chain", func() error {
		chain, err := cc.GetClusterChain()
		if err == nil && len(chain) > 0 {
			start = chain[0]
		}
		return err
	})
	if err != nil {
		return nil, asFormat(err)
	}
	return d.fat.fileRuns(d.r, d.size, start, size), nil
}

// isoData closes the go-diskfs file f and returns its extent: an ISO 9660
// file is one run of blocks, read straight from the partition, so that
// go-diskfs reads only metadata (see isoGuard).
func (d *diskFS) isoData(f fs.File, size int64) (*fatData, error) {
	defer func() { _ = d.call("close", f.Close) }()
	l, ok := f.(interface{ Location() uint32 })
	if !ok {
		return nil, ErrUnsupported
	}
	start := int64(l.Location()) * isoBlock
	if size > 0 && start >= d.size {
		return nil, formatErr(start, "iso9660: file data at byte %d, past the volume end", start)
	}
	return &fatData{r: d.r, size: d.size, runs: []fatRun{{diskOff: start, length: size}}}, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fileInfo is a snapshot of go-diskfs's FileInfo with our path attached.
type fileInfo struct {
	path  string // as spelled on disk, from the root
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
	sys   any
	isDir bool
	// dirBytes is a directory's size as its entry records it (size is 0
	// for directories); see listDir.
	dirBytes int64
}

func newFileInfo(p string, fi fs.FileInfo, kind string) *fileInfo {
	mode := fi.Mode()
	if fi.IsDir() {
		mode |= fs.ModeDir
	} else {
		mode &^= fs.ModeDir
	}
	if mode.Perm() == 0 || kind == fsISO9660 {
		// FAT carries no permissions, and go-diskfs reports 0755 for
		// every ISO 9660 entry whatever Rock Ridge says: show them as
		// read-only.
		mode = mode.Type() | 0o444
		if fi.IsDir() {
			mode |= 0o111
		}
	}
	size, dirBytes := fi.Size(), int64(0)
	if fi.IsDir() {
		size, dirBytes = 0, fi.Size()
	}
	size = max(size, 0)
	return &fileInfo{path: p, name: path.Base(p), size: size, mode: mode, mtime: fi.ModTime(), sys: fi.Sys(),
		isDir: fi.IsDir(), dirBytes: dirBytes}
}

func rootInfo() *fileInfo {
	return &fileInfo{path: ".", name: ".", mode: fs.ModeDir | 0o555, isDir: true}
}

func (fi *fileInfo) Name() string { return fi.name }
func (fi *fileInfo) Size() int64  { return fi.size }
func (fi *fileInfo) IsDir() bool  { return fi.isDir }
func (fi *fileInfo) Sys() any     { return fi.sys }

// Mode returns the type and permission bits.
func (fi *fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *fileInfo) ModTime() time.Time { return fi.mtime }

type dirEntry struct{ fi *fileInfo }

func (e dirEntry) Name() string               { return e.fi.name }
func (e dirEntry) IsDir() bool                { return e.fi.IsDir() }
func (e dirEntry) Type() fs.FileMode          { return e.fi.mode.Type() }
func (e dirEntry) Info() (fs.FileInfo, error) { return e.fi, nil }
