// Package exfat reads exFAT volumes (Microsoft's exFAT file system
// specification, revision 1.00) as an io/fs.FS.
//
// New takes an io.ReaderAt and the volume size, never a path; Open wraps
// os.Open. The boot region is checked by its checksum and the backup
// region at sector 12 is used when the main one is damaged; the FAT
// chains of files and directories, or their contiguous allocations
// (NoFatChain), are mapped once per open file; entry sets are checked by
// their SetChecksum, and one that fails is left out of its directory
// (Warnings lists it) instead of failing the directory. Names are
// compared exactly by Open, Stat and ReadDir, and as Windows compares
// them (through the volume's up-case table) by LookupFoldIn and
// ResolveFold. Bytes between a file's ValidDataLength and its size read
// as zeros.
//
// FileInfo.Sys() is the *FileInfo itself, with FileID, CreationTime,
// AccessTime and WindowsAttributes; open files give their Extents on the
// volume. Label, Serial and GUID describe the volume, Usage counts the
// clusters its allocation bitmap marks in use, Dirty tells a volume not
// cleanly unmounted. Damage worked around (a backup boot region, entry
// sets left out, a bad up-case table) is listed by Warnings. The package
// never writes to its source.
package exfat

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/ckptfs/ckptfs/internal/gencache"
	"github.com/ckptfs/ckptfs/internal/srcfile"
)

// FS is an open exFAT volume. It is safe for concurrent use.
type FS struct {
	r      io.ReaderAt
	size   int64
	closer io.Closer

	boot         bootSector
	clusterShift uint8 // bytes per cluster, as a shift
	fatOff       int64 // the active FAT
	heapOff      int64 // cluster 2
	root         rootInfo
	rootOnce     sync.Once
	rootEntry    *entry
	upcase       *upcaseTable // nil: Go's case mapping (see loadUpcase)
	backupBoot   bool

	dirs *gencache.Cache[int64, *listing] // parsed directories by their entry offset (root: 0)

	mu       sync.Mutex
	warnings []error
}

// Caps on what the FS keeps: parsed directories are held in two
// generations of maxCachedEntries/2 entries (and parsed again when asked
// after they were dropped), and at most maxWarnings problems are recorded.
const (
	maxCachedEntries = 1 << 18
	maxWarnings      = 100
)

// New opens the exFAT volume of size bytes that r reads.
func New(r io.ReaderAt, size int64) (*FS, error) {
	boot, fromBackup, warn, err := loadBoot(r, size)
	if err != nil {
		return nil, err
	}
	v := &FS{r: r, size: size, boot: boot}
	v.dirs = gencache.New[int64, *listing](maxCachedEntries/2, func(l *listing) int { return len(l.entries) + 1 }).
		Budget(cacheBudget, "exfat listings", listingBytes)
	v.clusterShift = boot.SectorShift + boot.ClusterShift
	v.fatOff = (int64(boot.FatOffset) + int64(boot.activeFat())*int64(boot.FatLength)) << boot.SectorShift
	v.heapOff = int64(boot.ClusterHeapOffset) << boot.SectorShift
	v.backupBoot = fromBackup
	if warn != nil {
		v.warn(warn)
	}
	rootList, err := v.readRoot()
	if err != nil {
		return nil, err
	}
	last := rootList // keep the parsed root
	rootLen := v.rootLength()
	v.rootEntry = &entry{name: ".", attrs: AttrDirectory, firstCluster: boot.RootCluster, dataLen: rootLen, validLen: rootLen, allocPossible: true}
	v.store(0, last)
	if v.root.nBitmaps != int(boot.NumberOfFats) {
		return nil, formatErr(-1, "%d allocation bitmap entries for %d FATs", v.root.nBitmaps, boot.NumberOfFats)
	}
	if v.upcase, err = v.loadUpcase(&v.root); err != nil {
		v.warn(fmt.Errorf("names are compared without the volume's up-case table: %w", err))
	}
	return v, nil
}

// rootLength is the size of the root directory: the clusters of its chain.
func (v *FS) rootLength() int64 {
	runs, err := v.chainRuns(v.boot.RootCluster, -1, false, "root directory", 96)
	if err != nil || len(runs) == 0 {
		return 0
	}
	last := runs[len(runs)-1]
	return last.fileOff + last.length
}

// Open opens the exFAT volume in the file (or device) at name.
func Open(name string) (*FS, error) {
	f, _, size, err := srcfile.Open(name)
	if err != nil {
		if errors.Is(err, srcfile.ErrNotFile) {
			err = fmt.Errorf("%w: %w", ErrFormat, err)
		}
		return nil, err
	}
	v, err := New(f, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	v.closer = f
	return v, nil
}

// Close closes the file Open opened; it does nothing for New's.
func (v *FS) Close() error {
	if v.closer != nil {
		return v.closer.Close()
	}
	return nil
}

// Label returns the volume label ("" when there is none).
func (v *FS) Label() string { return v.root.label }

// Serial returns the volume serial number.
func (v *FS) Serial() uint32 { return v.boot.Serial }

// GUID returns the volume GUID, when the root directory has one.
func (v *FS) GUID() ([16]byte, bool) { return v.root.guid, v.root.hasGUID }

// ClusterSize returns the bytes per cluster.
func (v *FS) ClusterSize() int64 { return 1 << v.clusterShift }

// UsedBackupBoot reports whether the main boot region was damaged and the
// backup one was read instead.
func (v *FS) UsedBackupBoot() bool { return v.backupBoot }

// Dirty reports whether the volume is marked dirty: it was not cleanly
// unmounted (a crash-consistent checkpoint of a running guest), and
// Windows would run chkdsk on it. exFAT keeps no journal to replay.
func (v *FS) Dirty() bool { return v.boot.VolumeFlags&flagVolumeDirty != 0 }

// Warnings lists the damage that did not stop the volume from opening:
// a damaged main boot region, a bad up-case table, entry
// sets left out of the directories read so far (each wraps ErrFormat,
// ErrChecksum or ErrUnsupported).
func (v *FS) Warnings() []error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]error(nil), v.warnings...)
}

func (v *FS) warn(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.warnLocked(err)
}

func (v *FS) warnLocked(err error) {
	if len(v.warnings) < maxWarnings {
		v.warnings = append(v.warnings, err)
	}
}

// store caches a parsed directory.
func (v *FS) store(key int64, l *listing) {
	if !v.dirs.Has(key) && len(l.skipped) > 0 {
		v.mu.Lock()
		for _, err := range l.skipped {
			v.warnLocked(err)
		}
		v.mu.Unlock()
	}
	v.dirs.Put(key, l)
}

// listingOf returns the parsed directory d.
func (v *FS) listingOf(d *entry) (*listing, error) {
	key := d.off
	if l, ok := v.dirs.Get(key); ok {
		return l, nil
	}
	var l *listing
	var err error
	if d == v.rootEntry {
		l, err = v.readRoot()
	} else {
		l, err = v.readDir(d)
	}
	if err != nil {
		return nil, err
	}
	v.store(key, l)
	return l, nil
}

// lookupFold finds a name in a directory as Windows would: the exact
// name first, then one equal after up-casing both.
func (v *FS) lookupFold(l *listing, name string) *entry {
	if e := l.lookup(name); e != nil {
		return e
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if l.fold == nil {
		l.fold = make(map[string]*entry, len(l.entries))
		for _, e := range l.entries {
			k := v.fold(e.name)
			if _, dup := l.fold[k]; !dup {
				l.fold[k] = e
			}
		}
	}
	return l.fold[v.fold(name)]
}

// resolve finds the entry name names (the root entry for "."). With fold
// each element is matched as Windows matches names.
func (v *FS) resolve(op, name string, fold bool) (*entry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	cur := v.rootEntry
	if name == "." {
		return cur, nil
	}
	// The clusters of the directories passed: a directory entry naming
	// one of them again would make the tree endless.
	passed := []uint32{cur.firstCluster}
	for _, elem := range strings.Split(name, "/") {
		if !cur.isDir() {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		l, err := v.listingOf(cur)
		if err != nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: err}
		}
		var e *entry
		if fold {
			e = v.lookupFold(l, elem)
		} else {
			e = l.lookup(elem)
		}
		if e == nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		if e.isDir() && e.firstCluster != 0 {
			for _, c := range passed {
				if c == e.firstCluster {
					return nil, &fs.PathError{Op: op, Path: name, Err: formatErr(e.off, "directory %q is its own ancestor (cluster %d)", e.name, c)}
				}
			}
			passed = append(passed, e.firstCluster)
		}
		cur = e
	}
	return cur, nil
}

// Open opens the file or directory name (an io/fs path).
func (v *FS) Open(name string) (fs.File, error) {
	e, err := v.resolve("open", name, false)
	if err != nil {
		return nil, err
	}
	return v.openEntry(name, e)
}

// Stat describes the file or directory name.
func (v *FS) Stat(name string) (fs.FileInfo, error) {
	e, err := v.resolve("stat", name, false)
	if err != nil {
		return nil, err
	}
	return v.info(e), nil
}

// ReadDir lists the directory name, sorted by name.
func (v *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	e, err := v.resolve("readdir", name, false)
	if err != nil {
		return nil, err
	}
	if !e.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	l, err := v.listingOf(e)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return v.dirEntries(l.entries), nil
}

func (v *FS) dirEntries(es []*entry) []fs.DirEntry {
	out := make([]fs.DirEntry, len(es))
	for i, e := range es {
		out[i] = fs.FileInfoToDirEntry(v.info(e))
	}
	return out
}

// LookupIn describes name in the directory dir (a FileInfo of this
// volume) without resolving the directory's path again.
func (v *FS) LookupIn(dir fs.FileInfo, name string) (fs.FileInfo, error) {
	return v.lookupIn(dir, name, false)
}

// LookupFoldIn is LookupIn matching name as Windows does: exactly first,
// then through the volume's up-case table.
func (v *FS) LookupFoldIn(dir fs.FileInfo, name string) (fs.FileInfo, error) {
	return v.lookupIn(dir, name, true)
}

func (v *FS) lookupIn(dir fs.FileInfo, name string, fold bool) (fs.FileInfo, error) {
	d, ok := dir.Sys().(*FileInfo)
	if !ok || d.v != v || !d.e.isDir() {
		return nil, &fs.PathError{Op: "lookup", Path: name, Err: fs.ErrInvalid}
	}
	l, err := v.listingOf(d.e)
	if err != nil {
		return nil, &fs.PathError{Op: "lookup", Path: name, Err: err}
	}
	var e *entry
	if fold {
		e = v.lookupFold(l, name)
	} else {
		e = l.lookup(name)
	}
	if e == nil {
		return nil, &fs.PathError{Op: "lookup", Path: name, Err: fs.ErrNotExist}
	}
	return v.info(e), nil
}

// ResolveFold returns the path as stored of the file that name names when
// each element is matched as Windows matches names.
func (v *FS) ResolveFold(name string) (string, error) {
	if _, err := v.resolve("resolve", name, true); err != nil {
		return "", err
	}
	// resolve checked every element; collect their stored names.
	out := make([]string, 0, 8)
	cur := v.rootEntry
	if name == "." {
		return ".", nil
	}
	for _, elem := range strings.Split(name, "/") {
		l, err := v.listingOf(cur)
		if err != nil {
			return "", err
		}
		cur = v.lookupFold(l, elem)
		if cur == nil {
			return "", &fs.PathError{Op: "resolve", Path: name, Err: fs.ErrNotExist}
		}
		out = append(out, cur.name)
	}
	return path.Join(out...), nil
}
