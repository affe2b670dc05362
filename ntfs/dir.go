package ntfs

import (
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/ckptfs/ckptfs/internal/names"
)

// dirEntry is one listed name; the record behind it is read only when
// Info is called (or Type needs it, for Interix symlinks).
type dirEntry struct {
	v    *Volume
	name string
	key  fileNameKey
	ref  Ref
	typ  fs.FileMode
	// orig is the name as stored when the entry is listed under another
	// (see displayNames); "" when it shows its own.
	orig string
	// in is the listing holding the entry: Info reads its neighbours'
	// records with its own.
	in *listing
}

// OriginalName is the name as stored when the entry is listed under
// another one (it held "/", NUL, was "." or "..", or was listed twice),
// else "".
func (d *dirEntry) OriginalName() string { return d.orig }

func (d *dirEntry) Name() string { return d.name }
func (d *dirEntry) IsDir() bool  { return d.typ.IsDir() }

// Type is the entry's type from the flags its index entry keeps, known
// without reading the entry's record (but for system files and reparse
// points that are not links: their record says whether they are Interix
// symlinks or special files, and is read when listed).
func (d *dirEntry) Type() fs.FileMode { return d.typ }

// Info reads the entry's MFT record (with its neighbours', when the
// folder's children lie together).
func (d *dirEntry) Info() (fs.FileInfo, error) {
	n, err := d.v.nodeNear(d.ref.Record, d.in)
	if err != nil {
		return nil, err
	}
	return &fileInfo{name: d.name, rec: n.info}, nil
}

// Ref returns the MFT reference of the entry, without reading its record.
func (d *dirEntry) Ref() Ref { return d.ref }

// listing is one directory as ReadDir shows it: its entries sorted by
// name, and where its children's records lie together in $MFT.
type listing struct {
	ents []*dirEntry
	runs []mftRange
}

// listingKey names a listing: the root's depends on SetShowMetafiles.
type listingKey struct {
	rec  uint64
	meta bool
}

// maxListedEntries bounds the entries of the listings kept per volume:
// some 200 bytes each with their names, 50 MiB at most, and room in one
// generation for a folder of 100,000 names beside the folders around it
// (a listing larger than a generation is kept alone).
const maxListedEntries = 1 << 18

// find returns the entry listed under name, or nil.
func (l *listing) find(name string) *dirEntry {
	i, ok := slices.BinarySearchFunc(l.ents, name, func(d *dirEntry, n string) int { return strings.Compare(d.name, n) })
	if !ok {
		return nil
	}
	return l.ents[i]
}

// dirEntries returns the entries as fs.DirEntry values, in a slice of
// the caller's own.
func (l *listing) dirEntries() []fs.DirEntry {
	out := make([]fs.DirEntry, len(l.ents))
	for i, d := range l.ents {
		out[i] = d
	}
	return out
}

// listingOf returns directory n as listed, from the cache when it holds
// it.
func (v *Volume) listingOf(n *node) (*listing, error) {
	key := listingKey{n.info.Ref.Record, v.showMeta.Load()}
	if l, ok := v.listings.Get(key); ok {
		return l, nil
	}
	l, err := v.list(n)
	if err != nil {
		return nil, err
	}
	v.listings.Put(key, l)
	return l, nil
}

// cachedListing returns directory n as listed when the cache holds it,
// else nil: a lookup does not list a directory to find one name.
func (v *Volume) cachedListing(n *node) *listing {
	l, _ := v.listings.Get(listingKey{n.info.Ref.Record, v.showMeta.Load()})
	return l
}

// list reads the entries of directory n sorted by name: DOS-only names
// and metadata files left out. Names io/fs cannot carry are listed under
// the renaming rule of every name ckptfs shows (see displayNames).
func (v *Volume) list(n *node) (*listing, error) {
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
		// The root lists itself as "." (record 5): never an entry, or a
		// walk of the tree with the metadata files shown would loop.
		if k.Namespace == NamespaceDOS || v.hiddenEntry(n, e.Ref) || e.Ref.Record == n.info.Ref.Record {
			return nil
		}
		k.Raw = nil // the INDX record it points into need not stay in memory
		d := &dirEntry{v: v, name: k.Name, key: k, ref: e.Ref}
		d.typ = v.entryType(&d.key, e.Ref)
		ents = append(ents, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	l := &listing{ents: displayNames(ents)}
	refs := make([]uint64, len(l.ents))
	for i, d := range l.ents {
		d.in = l
		refs[i] = d.ref.Record
	}
	l.runs = childRuns(refs, int64(v.geo.RecordSize))
	return l, nil
}

// displayNames sorts entries by name. An entry keeps its name when io/fs
// can carry it and no earlier entry (in index order) has it; an entry
// named "", "." or ".." is left out (a directory's own links, which would
// make walks loop); any other (a name holding "/" or NUL, or a second
// entry of one name: a damaged or hostile index, a sound one has none) is
// listed as
// names.Safe of its name, made unique with " (2)", " (3)", …: the rule
// checkpoint names follow. OriginalName tells the stored name.
func displayNames(ents []*dirEntry) []*dirEntry {
	slices.SortStableFunc(ents, func(a, b *dirEntry) int { return strings.Compare(a.name, b.name) })
	var odd []*dirEntry
	out := make([]*dirEntry, 0, len(ents))
	for _, d := range ents {
		if d.name == "" || d.name == "." || d.name == ".." {
			// The directory's own links in POSIX terms, never a file of
			// their own: shown, they would make every walk a loop.
			continue
		}
		// Sorted, a second entry of a name follows the first.
		if !validName(d.name) || len(out) > 0 && out[len(out)-1].name == d.name {
			odd = append(odd, d)
			continue
		}
		out = append(out, d)
	}
	if len(odd) == 0 {
		return out
	}
	used := make(map[string]bool, len(out)+len(odd))
	for _, d := range out {
		used[d.name] = true
	}
	for _, d := range odd {
		d.orig = d.name
		d.name = names.Unique(names.Safe(d.name), used)
		out = append(out, d)
	}
	slices.SortStableFunc(out, func(a, b *dirEntry) int { return strings.Compare(a.name, b.name) })
	return out
}

// lookupRenamed finds a name displayNames gave an entry whose own name
// cannot be shown. Only names the rule can produce are looked for this
// way, in the directory's listing.
func (v *Volume) lookupRenamed(dir *node, name string) (*node, *fileNameKey, error) {
	if !strings.Contains(name, "_") && !strings.HasSuffix(name, ")") {
		return nil, nil, fs.ErrNotExist
	}
	l, err := v.listingOf(dir)
	if err != nil {
		return nil, nil, err
	}
	d := l.find(name)
	if d == nil || d.orig == "" {
		return nil, nil, fs.ErrNotExist
	}
	child, err := v.entryNode(d.ref, -1, d.orig, l)
	return child, &d.key, err
}

// validName rejects names io/fs cannot carry ("/", "", ".", "..", NUL).
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && fs.ValidPath(name) && path.Base(name) == name &&
		!strings.ContainsRune(name, 0)
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
	l, err := v.listingOf(n)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return l.dirEntries(), nil
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
