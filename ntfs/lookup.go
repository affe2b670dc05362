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
	if !validName(name) {
		return nil, fs.ErrInvalid
	}
	d, err := v.node(dir.Record)
	if err != nil {
		return nil, err
	}
	// Only the sequence number is checked, not the in-use flag: a path
	// walk descends into whatever record an entry names, and so must this.
	if dir.Seq != 0 && d.info.Ref.Seq != dir.Seq {
		return nil, fmt.Errorf("directory %v: record has sequence %d, the reference is stale: %w", dir, d.info.Ref.Seq, fs.ErrNotExist)
	}
	if !d.info.Dir {
		return nil, errNotDir
	}
	return v.lookup(d, name)
}

// lookup finds name in directory dir.
func (v *Volume) lookup(dir *node, name string) (*node, error) {
	ix, err := dir.index()
	if err != nil {
		return nil, err
	}
	key := encodeUTF16(name)
	e, err := ix.lookup(key, v.loadUpcase())
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, fs.ErrNotExist
	}
	// Only the entry found is decoded: its namespace and exact name
	// decide whether it is the name asked for.
	k, err := decodeFileName(e.Key, e.Off+16)
	if err != nil {
		return nil, err
	}
	if k.Namespace == NamespaceDOS || hiddenEntry(dir, e.Ref) || k.Name != name {
		return nil, fs.ErrNotExist
	}
	child, err := v.node(e.Ref.Record)
	if err != nil {
		return nil, err
	}
	if e.Ref.Seq != 0 && child.info.Ref.Seq != e.Ref.Seq {
		return nil, formatErr(e.Off, "directory entry %q points to record %d sequence %d, found %d", name, e.Ref.Record, e.Ref.Seq, child.info.Ref.Seq)
	}
	return child, nil
}

// hiddenEntry reports whether an entry of dir is a metadata file.
func hiddenEntry(dir *node, ref Ref) bool {
	return dir.info.Ref.Record == rootRecord && ref.Record < firstUserFile
}

func encodeUTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}
