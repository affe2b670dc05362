package guest

import (
	"fmt"
	"io/fs"
	"sort"
	"sync"
	"time"

	"github.com/ckptfs/ckptfs/ntfs"
)

// Records below this number are NTFS metadata files ($MFT ... $Extend),
// never shown as guest files; the root directory is record 5.
const (
	ntfsFirstUserRecord = 16
	ntfsRootRecord      = 5
	// ntfsMaxDepth bounds the walk from a file up to the root, against
	// loops in damaged parent references.
	ntfsMaxDepth = 1024
)

// ntfsRecords is the NTFS side of RecordFS: MFT records by number, with
// the paths of files built from their $FILE_NAME parent references. Each
// directory's path is remembered, since a comparison asks for many files
// of the same directories.
type ntfsRecords struct {
	vol  *ntfs.Volume
	mu   sync.Mutex
	dirs map[ntfs.Ref]ntfsDirPath
}

// ntfsDirPath is a directory's path, or hidden for metadata directories
// ($Extend) and directories that are gone.
type ntfsDirPath struct {
	path   string
	hidden bool
}

func newNTFSRecords(v *ntfs.Volume) *ntfsRecords {
	return &ntfsRecords{vol: v}
}

// RecordName names MFT records in messages.
func (v *ntfsFS) RecordName() string { return "MFT record" }

// RecordSlots is the number of records of $MFT.
func (v *ntfsFS) RecordSlots() uint64 { return v.Volume.Records() }

// RecordFilesIn lists the base records of the records in [off, end).
func (v *ntfsFS) RecordFilesIn(off, end int64) []uint64 {
	var out []uint64
	for _, num := range v.Volume.RecordsIn(off, end) {
		h, err := v.Volume.RecordHeader(num)
		if err == nil && h.Present && h.Base.Record != 0 {
			num = h.Base.Record
		}
		if num >= ntfsFirstUserRecord {
			out = append(out, num)
		}
	}
	return out
}

// FileRecord reads record num. Most records are in-use base records, so
// the record is read first and its header only when that fails: Record
// refuses free slots and extension records too, and only the header
// tells them from damage.
func (v *ntfsFS) FileRecord(num uint64) (FileRecord, bool, error) {
	if num < ntfsFirstUserRecord || num >= v.Volume.Records() {
		return FileRecord{}, false, nil
	}
	fi, err := v.Volume.Record(num)
	if err != nil {
		h, herr := v.Volume.RecordHeader(num)
		if herr == nil && (!h.Present || !h.InUse || h.Base.Record != 0) {
			return FileRecord{}, false, nil
		}
		return FileRecord{}, false, err
	}
	if !fi.InUse {
		return FileRecord{}, false, nil
	}
	paths, err := v.records.pathsOf(fi)
	if err != nil {
		return FileRecord{}, false, err
	}
	r := FileRecord{Gen: uint64(fi.Ref.Seq), Info: ntfsRecordInfo{fi}, Paths: paths}
	if fi.Reparse != nil {
		r.Target = fmt.Sprintf("%#x %s", fi.Reparse.Tag, fi.Reparse.Target())
	}
	return r, true, nil
}

// OpenRecordStream opens a stream of the file in record num.
func (v *ntfsFS) OpenRecordStream(num uint64, stream string) (StreamFile, error) {
	f, err := v.Volume.OpenRecord(num, stream)
	if err != nil {
		return nil, err
	}
	return &ntfsFile{f}, nil
}

// ntfsRecordInfo is the FileInfo of a file found by record: named by its
// record number, since it may have several names or none.
type ntfsRecordInfo struct{ *ntfs.FileRecordInfo }

func (i ntfsRecordInfo) Name() string { return i.Ref.String() }
func (i ntfsRecordInfo) Size() int64  { return i.FileRecordInfo.Size }
func (i ntfsRecordInfo) Mode() fs.FileMode {
	switch {
	case i.IsSymlink():
		return fs.ModeSymlink | 0o777
	case i.Dir:
		return fs.ModeDir | 0o755
	case i.Attributes&ntfs.AttrReadOnly != 0:
		return 0o444
	}
	return 0o644
}
func (i ntfsRecordInfo) ModTime() time.Time { return i.Modified }
func (i ntfsRecordInfo) IsDir() bool        { return i.Dir }
func (i ntfsRecordInfo) Sys() any           { return i.FileRecordInfo }

// pathsOf returns the visible paths of a file, one per hard link (DOS 8.3
// names left out), sorted. Metadata files have none.
func (pc *ntfsRecords) pathsOf(fi *ntfs.FileRecordInfo) ([]string, error) {
	if fi.Ref.Record < ntfsFirstUserRecord {
		return nil, nil
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.dirs == nil {
		pc.dirs = map[ntfs.Ref]ntfsDirPath{}
	}
	var out []string
	for _, n := range fi.Names {
		if n.Namespace == ntfs.NamespaceDOS {
			continue
		}
		dir, err := pc.dir(n.Parent, 0)
		if err != nil {
			return nil, err
		}
		if dir.hidden {
			continue
		}
		out = append(out, joinPath(dir.path, n.Name))
	}
	sort.Strings(out)
	return out, nil
}

// dir resolves the path of directory ref; called with mu held.
func (pc *ntfsRecords) dir(ref ntfs.Ref, depth int) (ntfsDirPath, error) {
	if ref.Record == ntfsRootRecord {
		return ntfsDirPath{}, nil
	}
	if ref.Record < ntfsFirstUserRecord {
		return ntfsDirPath{hidden: true}, nil
	}
	if d, ok := pc.dirs[ref]; ok {
		return d, nil
	}
	if depth > ntfsMaxDepth {
		return ntfsDirPath{}, fmt.Errorf("directory %s: parent references nest deeper than %d", ref, ntfsMaxDepth)
	}
	fi, err := pc.vol.Record(ref.Record)
	if err != nil {
		return ntfsDirPath{}, err
	}
	d := ntfsDirPath{hidden: true}
	if fi.InUse && fi.Dir && (ref.Seq == 0 || ref.Seq == fi.Ref.Seq) {
		for _, n := range fi.Names {
			if n.Namespace == ntfs.NamespaceDOS {
				continue
			}
			parent, err := pc.dir(n.Parent, depth+1)
			if err != nil {
				return ntfsDirPath{}, err
			}
			d = ntfsDirPath{path: joinPath(parent.path, n.Name), hidden: parent.hidden}
			break
		}
	}
	pc.dirs[ref] = d
	return d, nil
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
