package ntfs

import (
	"io/fs"
	"path"
	"slices"
	"strings"
)

// dirEntry is one listed name; the record behind it is read only when
// Info is called (or Type needs it, for Interix symlinks).
type dirEntry struct {
	v    *Volume
	name string
	key  *fileNameKey
	ref  Ref
	typ  fs.FileMode
}

func (d *dirEntry) Name() string      { return d.name }
func (d *dirEntry) IsDir() bool       { return d.typ.IsDir() }
func (d *dirEntry) Type() fs.FileMode { return d.typ }

// Info reads the entry's MFT record.
func (d *dirEntry) Info() (fs.FileInfo, error) {
	n, err := d.v.node(d.ref.Record)
	if err != nil {
		return nil, err
	}
	return &fileInfo{name: d.name, rec: n.info}, nil
}

// Ref returns the MFT reference of the entry, without reading its record.
func (d *dirEntry) Ref() Ref { return d.ref }

// list returns the entries of directory n sorted by name: DOS-only names
// and metadata files left out, each hard link once.
func (v *Volume) list(n *node) ([]fs.DirEntry, error) {
	ix, err := n.index()
	if err != nil {
		return nil, err
	}
	var ents []*dirEntry
	err = ix.walk(func(e *indexEntry) error {
		k, err := decodeFileName(e.Key, e.Off+16)
		if err != nil {
			return err
		}
		if k.Namespace == NamespaceDOS || v.hiddenEntry(n, e.Ref) || !validName(k.Name) {
			return nil
		}
		d := &dirEntry{v: v, name: k.Name, key: k, ref: e.Ref}
		d.typ = v.entryType(k, e.Ref)
		ents = append(ents, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sortedUnique(ents), nil
}

// sortedUnique sorts entries by name and keeps one per name: of two
// entries with one name (a damaged index; a sound one never has them) the
// first in index order, hence the stable sort.
func sortedUnique(ents []*dirEntry) []fs.DirEntry {
	slices.SortStableFunc(ents, func(a, b *dirEntry) int { return strings.Compare(a.name, b.name) })
	out := make([]fs.DirEntry, 0, len(ents))
	for i, d := range ents {
		if i > 0 && d.name == ents[i-1].name {
			continue
		}
		out = append(out, d)
	}
	return out
}

// validName rejects names io/fs cannot carry ("/", "", ".", "..", NUL).
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && fs.ValidPath(name) && path.Base(name) == name
}

// entryType gives the entry's type from the index key flags; system files
// may be Interix symlinks, so their record is read.
func (v *Volume) entryType(k *fileNameKey, ref Ref) fs.FileMode {
	dir := k.Flags&attrDupDirectory != 0
	if k.Flags&AttrReparsePoint != 0 && (k.Tag == TagSymlink || k.Tag == TagMountPoint) {
		return fs.ModeSymlink
	}
	if k.Flags&(AttrSystem|AttrReparsePoint) != 0 {
		if n, err := v.node(ref.Record); err == nil {
			return (&fileInfo{rec: n.info}).Mode().Type()
		}
	}
	if dir {
		return fs.ModeDir
	}
	return 0
}

// Open opens the named file or directory, as fs.FS.
func (v *Volume) Open(name string) (fs.File, error) {
	return v.OpenFile(name)
}

// OpenFile is Open returning the concrete *File.
func (v *Volume) OpenFile(name string) (*File, error) {
	n, err := v.resolve("open", name)
	if err != nil {
		return nil, err
	}
	f, err := v.openNode(n, path.Base(name), "")
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return f, nil
}

// OpenStream opens the named $DATA stream (alternate data stream) of a
// file; streamName "" is the file's ordinary data.
func (v *Volume) OpenStream(name, streamName string) (*File, error) {
	n, err := v.resolve("open", name)
	if err != nil {
		return nil, err
	}
	f, err := v.openNode(n, path.Base(name), streamName)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name + ":" + streamName, Err: err}
	}
	return f, nil
}

// OpenRecord opens the unnamed data of the file in MFT record num, for
// callers working by record number.
func (v *Volume) OpenRecord(num uint64, streamName string) (*File, error) {
	n, err := v.node(num)
	if err != nil {
		return nil, err
	}
	return v.openNode(n, Ref{Record: num}.String(), streamName)
}

// ReadDir lists the named directory sorted by name, as fs.ReadDirFS.
func (v *Volume) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := v.resolve("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.info.Dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	d, err := v.list(n)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return d, nil
}

// Stat describes the named file, as fs.StatFS. Symlinks are not followed.
func (v *Volume) Stat(name string) (fs.FileInfo, error) {
	n, err := v.resolve("stat", name)
	if err != nil {
		return nil, err
	}
	return &fileInfo{name: path.Base(name), rec: n.info}, nil
}

// Lstat is Stat: symlinks are never followed.
func (v *Volume) Lstat(name string) (fs.FileInfo, error) { return v.Stat(name) }

// ReadLink returns the target of a symlink or junction, with '/'
// separators (see Reparse.Target), as fs.ReadLinkFS.
func (v *Volume) ReadLink(name string) (string, error) {
	n, err := v.resolve("readlink", name)
	if err != nil {
		return "", err
	}
	if !n.info.IsSymlink() {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	t := n.info.Reparse.Target()
	if t == "" {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: formatErr(-1, "record %d: link with an empty substitute name", n.info.Ref.Record)}
	}
	return t, nil
}
