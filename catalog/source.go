package catalog

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ckptfs/ckptfs/internal/srcfile"
	"github.com/ckptfs/ckptfs/vhdx"
)

// Source is where a catalog reads disk files and VM configurations from.
// Local (the local filesystem) is the default; object stores (S3, Azure
// Blob) and single HTTPS URLs implement the same methods, so the scan, the
// parent search and the checkpoint tree work on them unchanged. Names are
// the source's own: local paths for Local, "/"-separated keys for an
// object store; Join, Dir and Abs are the only path rules the catalog
// uses, so a source with other syntax supplies its own.
type Source interface {
	// String is the source as the user named it, for messages.
	String() string
	// Stat describes name, following symbolic links.
	Stat(name string) (FileInfo, error)
	// ReadDir lists one folder level, sorted by name. Entries reached
	// through a symbolic link have Link set and describe the link's target.
	ReadDir(name string) ([]FileInfo, error)
	// Open opens a file for reading. Only a file a disk can be read from
	// (Usable) is opened; anything else fails, before any read that could
	// block, with an error wrapping ErrNotFile.
	Open(name string) (File, error)
	// Abs returns the canonical full name of name, so that one file named
	// two ways is opened once.
	Abs(name string) (string, error)
	// Join joins a folder and a relative path ("/"-separated, as disk
	// locators are once their backslashes are turned).
	Join(dir, rel string) string
	// Dir returns the folder of name.
	Dir(name string) string
}

// FileInfo describes one name in a Source.
type FileInfo struct {
	Name    string // full name in the source (what Open takes)
	Size    int64
	ModTime time.Time
	IsDir   bool
	// Usable is set for what a disk can be read from: a regular file or
	// a block device (local), an object (remote). Never a FIFO, socket or
	// character device.
	Usable bool
	Link   bool     // reached through a symbolic link
	Kind   string   // what the name is, for messages ("a FIFO", ...)
	ID     Identity // zero when the source cannot tell
}

// Identity tells whether two names are one file and whether a file
// changed: a local file by device and inode number; a remote object by its
// ETag or version id, which a reader checks so that an object replaced
// while it is read fails instead of mixing old and new bytes.
type Identity struct {
	Dev, Ino uint64 // local files
	Version  string // remote objects: ETag or version id
}

// IsZero reports whether the identity is unknown.
func (id Identity) IsZero() bool { return id == Identity{} }

// File is one open file of a Source.
type File interface {
	io.ReaderAt
	io.Closer
	// Name is the full name the file was opened by.
	Name() string
	// Size is the file's length in bytes, fixed when it was opened.
	Size() int64
	// Identity is the identity of what was opened.
	Identity() Identity
}

// Locker is implemented by files that can be locked against a
// concurrent merge (local files, with flock). A mount holds shared locks
// on every file it reads; merge takes exclusive ones on what it changes.
// Remote objects cannot be locked: their Identity is checked instead.
type Locker interface {
	// LockShared takes a shared lock without waiting: it fails, wrapping
	// ErrLocked, while a merge holds the file.
	LockShared() error
	// Unlock releases the lock.
	Unlock() error
}

// ErrNotFile means a source name is not something a disk can be read from
// (a folder, FIFO, socket or character device). It wraps vhdx.ErrFormat:
// such a file is never a disk image.
var ErrNotFile = fmt.Errorf("%w: %w", vhdx.ErrFormat, srcfile.ErrNotFile)

// ErrLocked means a file is locked by a merge under way.
var ErrLocked = errors.New("catalog: file locked by a merge")
