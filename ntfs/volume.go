package ntfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"

	"github.com/ckptfs/ckptfs/internal/gencache"
	"github.com/ckptfs/ckptfs/internal/srcfile"
)

// Well-known MFT record numbers.
const (
	mftRecordNum  = 0
	volumeRecord  = 3
	rootRecord    = 5
	firstUserFile = 16 // records below are metadata files, hidden from listings
)

// Volume is a read-only NTFS volume. It implements fs.FS, fs.ReadDirFS,
// fs.StatFS and fs.ReadLinkFS, and is safe for concurrent use.
//
// Paths are io/fs paths ("dir/file", "." for the root), case-sensitive and
// as stored; short 8.3 names resolve too (ResolveFold and LookupFoldIn
// match names ignoring case, as Windows does). Symlinks and junctions are
// never followed. The NTFS metadata files ($MFT, $Bitmap, $Secure,
// $Extend/...) open by name but are not listed unless SetShowMetafiles
// says so; Record reaches any record.
type Volume struct {
	r    io.ReaderAt
	size int64
	geo  *Geometry

	mft *stream
	// mftBlocks holds raw $MFT blocks of mftBlock bytes, read with the
	// records asked for (mftchunk.go).
	mftBlocks  *gencache.Cache[int64, []byte]
	mftBlock   int64
	mftRecords uint64

	cache *nodeCache
	// indexes keeps decoded INDX records: a lookup in a big directory
	// descends the same upper nodes every time.
	indexes *lru[indexKey, []indexEntry]
	// wofChunks keeps decompressed chunks of WOF-compressed files.
	wofChunks *lru[wofKey, []byte]
	// listings keeps directories as listed (see listingOf): a lookup in
	// a directory just listed is a binary search, and its children's
	// records are read in runs.
	listings *gencache.Cache[listingKey, *listing]

	showMeta atomic.Bool // list the metadata files (SetShowMetafiles)

	sdsOnce sync.Once // the security id index, built on first use
	sdsIdx  map[uint32]sdsEntry
	sds     *stream
	sdsErr  error
	sdCache *gencache.Cache[uint32, []byte] // descriptors read from $SDS, by id

	upOnce sync.Once
	upcase []uint16

	closer io.Closer
}

// NewVolume opens the NTFS volume held in the first size bytes of r. It
// reads the boot sector, $MFT's own record (and its extension records) and
// checks the root directory; nothing else is read until asked for.
func NewVolume(r io.ReaderAt, size int64) (*Volume, error) {
	geo, err := readBoot(r, size)
	if err != nil {
		return nil, err
	}
	v := &Volume{r: r, size: size, geo: geo, cache: newNodeCache(nodeCacheSize),
		indexes:   newLRU[indexKey, []indexEntry](indexCacheSize),
		wofChunks: newLRU[wofKey, []byte](wofChunkCache),
		listings:  gencache.New[listingKey, *listing](maxListedEntries/2, func(l *listing) int { return len(l.ents) + 1 }),
		mftBlock:  max(mftBlockMin, int64(geo.RecordSize)),
		sdCache:   gencache.New[uint32, []byte](sdCacheBytes/2, func(b []byte) int { return len(b) + 64 }),
	}
	v.mftBlocks = gencache.New[int64, []byte](int(mftCacheBytes/2/v.mftBlock), func([]byte) int { return 1 })
	v.openBudget(budget)
	if err := v.loadMFT(); err != nil {
		return nil, err
	}
	root, err := v.node(rootRecord)
	if err != nil {
		return nil, fmt.Errorf("ntfs: root directory: %w", err)
	}
	if !root.info.Dir {
		return nil, formatErr(-1, "root record %d is not a directory", rootRecord)
	}
	return v, nil
}

// Open opens the NTFS volume in the file or device at path. Close the
// returned volume to close the file.
func Open(path string) (*Volume, error) {
	f, _, size, err := srcfile.Open(path)
	if err != nil {
		if errors.Is(err, srcfile.ErrNotFile) {
			err = fmt.Errorf("%w: %w", ErrFormat, err)
		}
		return nil, err
	}
	v, err := NewVolume(f, size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	v.closer = f
	return v, nil
}

// Close closes the file opened by Open; for NewVolume it does nothing.
func (v *Volume) Close() error {
	if v.closer != nil {
		return v.closer.Close()
	}
	return nil
}

// Geometry returns the layout read from the boot sector.
func (v *Volume) Geometry() Geometry { return *v.geo }

// loadMFT finds $MFT through its own record: first through the runlist
// pieces in record 0, which must map any extension records $MFT uses, then
// through the whole runlist gathered from them.
func (v *Volume) loadMFT() error {
	cs := int64(v.geo.ClusterSize)
	off := int64(v.geo.MFTCluster) * cs
	b := make([]byte, v.geo.RecordSize)
	if off+int64(len(b)) > v.size {
		return kindErr(ErrRange, 0x30, "$MFT at byte %d lies past the volume", off)
	}
	if _, err := v.r.ReadAt(b, off); err != nil {
		return fmt.Errorf("ntfs: reading $MFT record: %w", err)
	}
	rec, err := parseRecord(b, mftRecordNum, off, v.geo.Clusters())
	if err != nil {
		return err
	}
	data := pieces(rec.Attrs, attrData, "")
	if len(data) == 0 || !data[0].NonResident {
		return formatErr(off, "$MFT has no non-resident $DATA")
	}
	if v.mft, err = buildStream(v.r, cs, data, true); err != nil {
		return fmt.Errorf("ntfs: $MFT: %w", err)
	}
	if err := v.setMFTSize(off); err != nil {
		return err
	}
	attrs, err := v.gatherAttributes(rec, v.readRecord)
	if err != nil {
		return fmt.Errorf("ntfs: $MFT: %w", err)
	}
	if v.mft, err = newStream(v.r, cs, pieces(attrs, attrData, "")); err != nil {
		return fmt.Errorf("ntfs: $MFT: %w", err)
	}
	return v.setMFTSize(off)
}

func (v *Volume) setMFTSize(off int64) error {
	if v.mft.size > v.size || v.mft.size < firstUserFile*int64(v.geo.RecordSize) {
		return kindErr(ErrRange, off, "$MFT of %d bytes on a volume of %d", v.mft.size, v.size)
	}
	v.mftRecords = uint64(v.mft.size / int64(v.geo.RecordSize))
	return nil
}

// node is a decoded file: its base record, all its attributes (extension
// records included) and the summary built from them.
type node struct {
	v     *Volume
	rec   *mftRecord
	attrs []*attribute
	info  *FileRecordInfo

	// The $I30 index of a directory, prepared on first use (see index).
	ixOnce sync.Once
	ix     *dirIndex
	ixErr  error
}

// node returns the decoded base record num, from the cache when possible.
func (v *Volume) node(num uint64) (*node, error) {
	return v.nodeNear(num, nil)
}

// nodeNear is node for a child of the directory listed as l (nil: none
// known), whose neighbouring children's records are read with num's on a
// miss.
func (v *Volume) nodeNear(num uint64, l *listing) (*node, error) {
	if n, _ := v.cache.Get(num); n != nil {
		return n, nil
	}
	var near mftRange
	if l != nil {
		near = findRun(l.runs, int64(num)*int64(v.geo.RecordSize))
	}
	rec, err := v.readRecordNear(num, near)
	if err != nil {
		return nil, err
	}
	if rec.Base.Record != 0 {
		return nil, formatErr(-1, "MFT record %d is an extension of record %d", num, rec.Base.Record)
	}
	attrs, err := v.gatherAttributes(rec, v.readRecord)
	if err != nil {
		return nil, err
	}
	// The summary is an allocation of its own: callers keep it (a FUSE
	// inode keeps its FileInfo) long after the node, its record and
	// attributes have left the cache, and must not keep those alive.
	info := &FileRecordInfo{}
	if err := v.decodeInfoInto(info, rec, attrs); err != nil {
		return nil, fmt.Errorf("MFT record %d: %w", num, err)
	}
	n := &node{v: v, rec: rec, attrs: attrs, info: info}
	v.detectInterix(n)
	if info.InUse {
		v.cache.Put(num, n)
	}
	return n, nil
}

// detectInterix recognises the symlinks ntfs-3g creates: small system
// files holding "IntxLNK\x01" and the target.
func (v *Volume) detectInterix(n *node) {
	fi := n.info
	if fi.Dir || fi.Reparse != nil || fi.Attributes&AttrSystem == 0 || fi.Size < 8 || fi.Size > 4096 {
		return
	}
	s, err := n.stream("")
	if err != nil {
		return
	}
	b := make([]byte, s.size)
	if _, err := s.ReadAt(b, 0); err != nil && err != io.EOF {
		return
	}
	fi.Reparse = parseInterix(b)
}

// stream opens the $DATA stream of the given name ("" for the file's data).
func (n *node) stream(name string) (*stream, error) {
	p := pieces(n.attrs, attrData, name)
	if len(p) == 0 {
		return nil, fs.ErrNotExist
	}
	return newStream(n.v.r, int64(n.v.geo.ClusterSize), p)
}

// Record returns what MFT record num says about its file, deleted files
// included (InUse false). Extension records are refused.
func (v *Volume) Record(num uint64) (*FileRecordInfo, error) {
	n, err := v.node(num)
	if err != nil {
		return nil, err
	}
	return n.info, nil
}

// Records returns the number of records $MFT holds, for callers that scan.
func (v *Volume) Records() uint64 { return v.mftRecords }

// Label returns the volume label from $Volume.
func (v *Volume) Label() (string, error) {
	n, err := v.node(volumeRecord)
	if err != nil {
		return "", err
	}
	for _, a := range n.attrs {
		if a.Type == attrVolumeName && !a.NonResident {
			return decodeUTF16(a.Value), nil
		}
	}
	return "", nil
}
