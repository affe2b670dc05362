//go:build linux

package fs

import (
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Request counts: how many requests of each kind the kernel sent, for
// tests that a walk costs what it should and for measuring one
// (mount.Options.RequestStats). Counting is one atomic add per request.

type op int

const (
	opLookup op = iota
	opForget
	opGetattr
	opReadlink
	opAccess
	opOpen
	opRead
	opLseek
	opFlush
	opRelease
	opOpendir
	opReaddir
	opReaddirplus
	opReleasedir
	opGetxattr
	opListxattr
	opStatfs
	opStatx
	numOps
)

var opNames = [numOps]string{
	opLookup: "LOOKUP", opForget: "FORGET", opGetattr: "GETATTR", opReadlink: "READLINK",
	opAccess: "ACCESS", opOpen: "OPEN", opRead: "READ", opLseek: "LSEEK", opFlush: "FLUSH",
	opRelease: "RELEASE", opOpendir: "OPENDIR", opReaddir: "READDIR",
	opReaddirplus: "READDIRPLUS", opReleasedir: "RELEASEDIR", opGetxattr: "GETXATTR",
	opListxattr: "LISTXATTR", opStatfs: "STATFS", opStatx: "STATX",
}

func (r *RawFS) count(o op) { r.counts[o].Add(1) }

// Requests returns how many requests of each kind (FUSE opcode names:
// LOOKUP, READDIRPLUS, GETXATTR, ...) the mount has received; kinds never
// received are left out. A batch of forgets counts one FORGET a node.
func (r *RawFS) Requests() map[string]uint64 {
	m := map[string]uint64{}
	for o := range numOps {
		if n := r.counts[o].Load(); n > 0 {
			m[opNames[o]] = n
		}
	}
	return m
}

// The methods below count their request and pass it on to the bridge.

// Lookup is counted.
func (r *RawFS) Lookup(cancel <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	r.count(opLookup)
	return r.RawFileSystem.Lookup(cancel, h, name, out)
}

// GetAttr is counted.
func (r *RawFS) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	r.count(opGetattr)
	return r.RawFileSystem.GetAttr(cancel, in, out)
}

// Readlink is counted.
func (r *RawFS) Readlink(cancel <-chan struct{}, h *fuse.InHeader) ([]byte, fuse.Status) {
	r.count(opReadlink)
	return r.RawFileSystem.Readlink(cancel, h)
}

// Access is counted.
func (r *RawFS) Access(cancel <-chan struct{}, in *fuse.AccessIn) fuse.Status {
	r.count(opAccess)
	return r.RawFileSystem.Access(cancel, in)
}

// Open is counted.
func (r *RawFS) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	r.count(opOpen)
	return r.RawFileSystem.Open(cancel, in, out)
}

// Read is counted.
func (r *RawFS) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	r.count(opRead)
	return r.RawFileSystem.Read(cancel, in, buf)
}

// Lseek is counted.
func (r *RawFS) Lseek(cancel <-chan struct{}, in *fuse.LseekIn, out *fuse.LseekOut) fuse.Status {
	r.count(opLseek)
	return r.RawFileSystem.Lseek(cancel, in, out)
}

// Flush is counted.
func (r *RawFS) Flush(cancel <-chan struct{}, in *fuse.FlushIn) fuse.Status {
	r.count(opFlush)
	return r.RawFileSystem.Flush(cancel, in)
}

// Release is counted.
func (r *RawFS) Release(cancel <-chan struct{}, in *fuse.ReleaseIn) {
	r.count(opRelease)
	r.RawFileSystem.Release(cancel, in)
}

// GetXAttr is counted.
func (r *RawFS) GetXAttr(cancel <-chan struct{}, h *fuse.InHeader, attr string, dest []byte) (uint32, fuse.Status) {
	r.count(opGetxattr)
	return r.RawFileSystem.GetXAttr(cancel, h, attr, dest)
}

// ListXAttr is counted.
func (r *RawFS) ListXAttr(cancel <-chan struct{}, h *fuse.InHeader, dest []byte) (uint32, fuse.Status) {
	r.count(opListxattr)
	return r.RawFileSystem.ListXAttr(cancel, h, dest)
}

// StatFs is counted.
func (r *RawFS) StatFs(cancel <-chan struct{}, h *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	r.count(opStatfs)
	return r.RawFileSystem.StatFs(cancel, h, out)
}

// Statx is counted.
func (r *RawFS) Statx(cancel <-chan struct{}, in *fuse.StatxIn, out *fuse.StatxOut) fuse.Status {
	r.count(opStatx)
	return r.RawFileSystem.Statx(cancel, in, out)
}
