//go:build linux

package fs

import (
	"io"
	iofs "io/fs"
	"syscall"
	"time"

	"github.com/ckptfs/ckptfs/ntfs"
)

// fileMeta is what the tree knows about a guest file beyond io/fs, taken
// once from FileInfo.Sys(): from package ntfs's record info, or from the
// optional interfaces of meta.go for any other filesystem.
type fileMeta struct {
	id                   uint64
	hasID                bool
	crtime, atime, ctime time.Time // zero when unknown
	attrs                uint32
	hasAttrs             bool
	nlink                int
	streams              []string
	posix                bool // perm, uid and gid are the guest's
	perm, uid, gid       uint32
}

func metaOf(fi iofs.FileInfo) fileMeta {
	var m fileMeta
	if fi == nil {
		return m
	}
	if r, ok := fi.Sys().(*ntfs.FileRecordInfo); ok && r != nil {
		// The record alone names a file within one volume: a
		// snapshot holds one sequence number per record.
		m.id, m.hasID = r.Ref.Record, true
		m.crtime, m.atime, m.ctime = r.Created, r.Accessed, r.Changed
		m.attrs, m.hasAttrs = uint32(r.Attributes), true
		m.nlink = r.Links
		for _, s := range r.Streams {
			m.streams = append(m.streams, s.Name)
		}
		return m
	}
	sys := fi.Sys()
	if v, ok := sys.(FileIdentity); ok {
		m.id, m.hasID = v.FileID(), true
	}
	if v, ok := sys.(CreationTimer); ok {
		m.crtime = v.CreationTime()
	}
	if v, ok := sys.(AccessTimer); ok {
		m.atime = v.AccessTime()
	}
	if v, ok := sys.(ChangeTimer); ok {
		m.ctime = v.ChangeTime()
	}
	if v, ok := sys.(WindowsAttributer); ok {
		m.attrs, m.hasAttrs = v.WindowsAttributes(), true
	}
	if v, ok := sys.(LinkCounter); ok {
		m.nlink = v.LinkCount()
	}
	if v, ok := sys.(POSIXAttributer); ok {
		m.perm, m.uid, m.gid = v.POSIXAttributes()
		m.posix = true
	}
	if v, ok := sys.(StreamLister); ok {
		m.streams = v.StreamNames()
	}
	return m
}

// canOpenStreams reports whether fsys can open named streams.
func canOpenStreams(fsys iofs.FS) bool {
	switch fsys.(type) {
	case *ntfs.Volume, StreamFS:
		return true
	}
	return false
}

// openStream opens one named stream of the file at name.
func openStream(fsys iofs.FS, name, stream string) (io.ReadCloser, error) {
	switch f := fsys.(type) {
	case *ntfs.Volume:
		file, err := f.OpenStream(name, stream)
		if err != nil {
			return nil, err
		}
		return file, nil
	case StreamFS:
		return f.OpenStream(name, stream)
	}
	return nil, syscall.ENODATA
}
