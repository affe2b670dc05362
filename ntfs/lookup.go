package ntfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf16"
)

// resolve walks path from the root to the node it names.
func (v *Volume) resolve(op, path string) (*node, error) {
	if !fs.ValidPath(path) {
		return nil, &fs.PathError{Op: op, Path: path, Err: fs.ErrInvalid}
	}
	n, err := v.node(rootRecord)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: path, Err: err}
	}
	if path == "." {
		return n, nil
	}
	for _, part := range strings.Split(path, "/") {
		if !n.info.Dir {
			return nil, &fs.PathError{Op: op, Path: path, Err: errNotDir}
		}
		child, err := v.lookup(n, part)
		if err != nil {
			return nil, &fs.PathError{Op: op, Path: path, Err: err}
		}
		n = child
	}
	return n, nil
}

// errNotDir is returned when a path goes through a file.
var errNotDir = errors.New("not a directory")

// LookupIn describes the entry called name in the directory whose MFT
// reference is dir, exactly as Lstat of the directory's path joined with
// name would, but without walking that path from the root again: a caller
// that already holds the directory (a FUSE lookup holds its parent) pays
// for one index search instead of one per path element.
//
// dir.Seq must be the directory record's sequence number, so that a
// reference to a deleted and reused record fails with an error wrapping
// fs.ErrNotExist instead of naming a different directory; Seq 0 skips that
// check, as it does in index entries. A dir that is not a directory fails
// with a *fs.PathError (not a directory); name must be one path element.
func (v *Volume) LookupIn(dir Ref, name string) (fs.FileInfo, error) {
	n, err := v.lookupIn(dir, name)
	if err != nil {
		return nil, &fs.PathError{Op: "lookup", Path: dir.String() + "/" + name, Err: err}
	}
	return &fileInfo{name: name, rec: n.info}, nil
}

func (v *Volume) lookupIn(dir Ref, name string) (*node, error) {
	n, _, err := v.lookupInFold(dir, name, false)
	return n, err
}

// lookupInFold is lookupIn, matching names as Windows does when fold is
// set; it also returns the name found as stored (a long name when name
// matched a short one).
func (v *Volume) lookupInFold(dir Ref, name string, fold bool) (*node, string, error) {
	if !validName(name) {
		return nil, "", fs.ErrInvalid
	}
	d, err := v.node(dir.Record)
	if err != nil {
		return nil, "", err
	}
	// Only the sequence number is checked, not the in-use flag: a path
	// walk descends into whatever record an entry names, and so must this.
	if dir.Seq != 0 && d.info.Ref.Seq != dir.Seq {
		return nil, "", fmt.Errorf("directory %v: record has sequence %d, the reference is stale: %w", dir, d.info.Ref.Seq, fs.ErrNotExist)
	}
	if !d.info.Dir {
		return nil, "", errNotDir
	}
	n, k, err := v.lookupName(d, name, fold)
	if err != nil {
		return nil, "", err
	}
	stored := k.Name
	if k.Namespace == NamespaceDOS {
		stored = longName(n.info, d.info.Ref)
	}
	return n, stored, nil
}

// lookup finds name in directory dir, exactly as stored. Short 8.3 names
// and the metadata files at the root ($MFT, $Secure, ...) are found,
// though listings leave them out: Windows and ntfs-3g resolve them too.
func (v *Volume) lookup(dir *node, name string) (*node, error) {
	n, _, err := v.lookupName(dir, name, false)
	return n, err
}

// lookupName finds name in dir, exactly, or when fold is set first exactly
// and then ignoring case through the volume's $UpCase table. It also
// returns the index key found.
func (v *Volume) lookupName(dir *node, name string, fold bool) (*node, *fileNameKey, error) {
	if l := v.cachedListing(dir); l != nil {
		// A directory just listed (a walk, ls -l): the name as listed,
		// found by binary search. Names a listing leaves out (short
		// names, metadata files, other cases) go through the index.
		if d := l.find(name); d != nil {
			stored := d.name
			if d.orig != "" {
				stored = d.orig
			}
			child, err := v.entryNode(d.ref, -1, stored, l)
			return child, &d.key, err
		}
	}
	ix, err := dir.index()
	if err != nil {
		return nil, nil, err
	}
	key := encodeUTF16(name)
	up := v.loadUpcase()
	e, err := ix.lookup(key, up)
	if err == nil && e == nil && fold {
		e, err = ix.lookupFold(key, up)
	}
	if err != nil {
		return nil, nil, err
	}
	if e == nil {
		return v.lookupRenamed(dir, name)
	}
	// Only the entry found is decoded: its name decides whether it is
	// the name asked for (a damaged index may collate wrongly).
	k, err := decodeFileName(e.Key, e.Off+16)
	if err != nil {
		return nil, nil, err
	}
	if k.Name != name && (!fold || collateFold(k.Raw, key, up) != 0) {
		return v.lookupRenamed(dir, name)
	}
	if !validName(k.Name) {
		return v.lookupRenamed(dir, name)
	}
	child, err := v.entryNode(e.Ref, e.Off, k.Name, v.cachedListing(dir))
	return child, &k, err
}

// entryNode reads the record a directory entry names (found at volume
// offset off, -1 if unknown), checking its sequence; l is the directory's
// listing when known (see nodeNear).
func (v *Volume) entryNode(ref Ref, off int64, name string, l *listing) (*node, error) {
	child, err := v.nodeNear(ref.Record, l)
	if err != nil {
		return nil, err
	}
	if ref.Seq != 0 && child.info.Ref.Seq != ref.Seq {
		return nil, formatErr(off, "directory entry %q points to record %d sequence %d, found %d", name, ref.Record, ref.Seq, child.info.Ref.Seq)
	}
	return child, nil
}

// LookupFoldIn is LookupIn ignoring case where no name matches exactly,
// as Windows does: an exact match first (names differing only in case
// stay distinct), then a name equal through the volume's $UpCase table.
// The FileInfo carries the name as stored (the long name for a short
// one), so that the path it completes opens.
func (v *Volume) LookupFoldIn(dir Ref, name string) (fs.FileInfo, error) {
	n, stored, err := v.lookupInFold(dir, name, true)
	if err != nil {
		return nil, &fs.PathError{Op: "lookup", Path: dir.String() + "/" + name, Err: err}
	}
	return &fileInfo{name: stored, rec: n.info}, nil
}

// ResolveFold returns the path, as stored, that path names when compared
// as Windows does: each element matched exactly first, then ignoring case
// through $UpCase; a short 8.3 name gives the file's long name in that
// directory. Links are not followed.
func (v *Volume) ResolveFold(path string) (string, error) {
	if !fs.ValidPath(path) {
		return "", &fs.PathError{Op: "resolve", Path: path, Err: fs.ErrInvalid}
	}
	n, err := v.node(rootRecord)
	if err != nil || path == "." {
		return ".", err
	}
	var out []string
	for _, part := range strings.Split(path, "/") {
		if !n.info.Dir {
			return "", &fs.PathError{Op: "resolve", Path: path, Err: errNotDir}
		}
		child, k, err := v.lookupName(n, part, true)
		if err != nil {
			return "", &fs.PathError{Op: "resolve", Path: path, Err: err}
		}
		name := k.Name
		if k.Namespace == NamespaceDOS {
			name = longName(child.info, n.info.Ref)
		}
		out = append(out, name)
		n = child
	}
	return strings.Join(out, "/"), nil
}

// longName returns the name of fi in directory dir that a listing shows
// (not its DOS 8.3 name).
func longName(fi *FileRecordInfo, dir Ref) string {
	for _, fn := range fi.Names {
		if fn.Parent.Record == dir.Record && fn.Namespace != NamespaceDOS && validName(fn.Name) {
			return fn.Name
		}
	}
	return ""
}

// hiddenEntry reports whether an entry of dir is a metadata file, left
// out of listings unless SetShowMetafiles asked for them.
func (v *Volume) hiddenEntry(dir *node, ref Ref) bool {
	return dir.info.Ref.Record == rootRecord && ref.Record < firstUserFile && !v.showMeta.Load()
}

// SetShowMetafiles makes listings of the root include the NTFS metadata
// files ($MFT, $LogFile, $Secure, $Extend, ...), as ntfs-3g's
// show_sys_files does. They are found by name either way.
func (v *Volume) SetShowMetafiles(show bool) { v.showMeta.Store(show) }

func encodeUTF16(s string) []byte {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		b := make([]byte, 2*len(s))
		for i := 0; i < len(s); i++ {
			b[2*i] = s[i]
		}
		return b
	}
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}
