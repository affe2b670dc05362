package ntfs

import (
	"unsafe"

	"github.com/ckptfs/ckptfs/internal/membudget"
)

// What the caches of a volume hold, in bytes, for the process-wide
// memory budget (internal/membudget.Default): each cache is bounded per
// volume, and a walk across many checkpoints' volumes adds them up. The
// sizes count a value's own allocations as Go lays them out, checked
// against the heap a walk leaves (TestCacheBytes); what they leave out
// (allocator rounding, map buckets) is within the budget's slack.

// budget is the budget volumes open their caches' accounts with (a
// variable for the tests).
var budget = membudget.Default

// openBudget opens the accounts of v's caches with b.
func (v *Volume) openBudget(b *membudget.Budget) {
	v.cache.Budget(b, "ntfs records", nodeBytes)
	v.listings.Budget(b, "ntfs listings", listingBytes)
	v.mftBlocks.Budget(b, "ntfs mft blocks", func(p []byte) int64 { return int64(cap(p)) })
	v.sdCache.Budget(b, "ntfs security", func(p []byte) int64 { return int64(cap(p)) })
	v.indexes.Budget(b, "ntfs index records", indexNodeBytes(int64(v.geo.IndexRecordSize)))
	v.wofChunks.Budget(b, "ntfs wof chunks", func(p []byte) int64 { return int64(cap(p)) })
}

const (
	sizeofNode      = int64(unsafe.Sizeof(node{}))
	sizeofRecord    = int64(unsafe.Sizeof(mftRecord{}))
	sizeofAttr      = int64(unsafe.Sizeof(attribute{})) + 8 // and its pointer
	sizeofRun       = int64(unsafe.Sizeof(run{}))
	sizeofInfo      = int64(unsafe.Sizeof(FileRecordInfo{}))
	sizeofName      = int64(unsafe.Sizeof(FileName{}))
	sizeofDirEntry  = int64(unsafe.Sizeof(dirEntry{})) + 8 // and its pointer
	sizeofIndexEnt  = int64(unsafe.Sizeof(indexEntry{}))
	sizeofMFTRange  = int64(unsafe.Sizeof(mftRange{}))
	sizeofListing   = int64(unsafe.Sizeof(listing{}))
	sizeofReparse   = int64(unsafe.Sizeof(Reparse{}))
	sizeofDirIndex  = int64(unsafe.Sizeof(dirIndex{}))
	sizeofStreamInf = int64(unsafe.Sizeof(StreamInfo{}))
)

// nodeBytes is what a decoded record holds: its bytes and header, its
// attributes (a resident value is a slice of the record's bytes, a
// runlist its own), the summary, and the directory index once prepared
// (counted as its root; the index is made after the node is cached, and
// is small beside the record).
func nodeBytes(n *node) int64 {
	b := sizeofNode + sizeofRecord + int64(n.v.geo.RecordSize)
	for _, a := range n.attrs {
		b += sizeofAttr + int64(len(a.Name)) + int64(cap(a.Runs))*sizeofRun
	}
	if n.rec != nil && len(n.attrs) > len(n.rec.Attrs) {
		// Extension records: their bytes back the attributes found there.
		b += int64(n.v.geo.RecordSize)
	}
	return b + infoBytes(n.info) + sizeofDirIndex
}

// infoBytes is what a FileRecordInfo holds.
func infoBytes(fi *FileRecordInfo) int64 {
	if fi == nil {
		return 0
	}
	b := sizeofInfo
	for _, nm := range fi.Names {
		b += sizeofName + int64(len(nm.Name))
	}
	for _, s := range fi.Streams {
		b += sizeofStreamInf + int64(len(s.Name))
	}
	if r := fi.Reparse; r != nil {
		b += sizeofReparse + int64(len(r.PrintName)+len(r.SubstituteName)+cap(r.Data))
	}
	for k, val := range fi.EAs {
		b += 48 + int64(len(k)+cap(val))
	}
	return b
}

// listingBytes is what a listing holds: an entry, its pointer and its
// name (the key's name is the same string), and the runs of records.
func listingBytes(l *listing) int64 {
	b := sizeofListing + int64(cap(l.runs))*sizeofMFTRange
	for _, d := range l.ents {
		b += sizeofDirEntry + int64(len(d.name)+len(d.orig))
		if d.orig != "" {
			b += int64(len(d.key.Name))
		}
	}
	return b
}

// indexNodeBytes returns the size of a decoded INDX record: its copy of
// the record's bytes (the entries' keys point into it) and the entries.
func indexNodeBytes(recSize int64) func([]indexEntry) int64 {
	return func(es []indexEntry) int64 { return recSize + int64(cap(es))*sizeofIndexEnt }
}
