package ntfs

import (
	"io"
	"testing"

	"github.com/ckptfs/ckptfs/internal/gencache"
)

// benchVolume prefers big.img (256 MiB file, 100,000-entry directory),
// built by `testdata/ntfs/gen.sh ” big`, and falls back to small.img.
func benchVolume(b *testing.B) (*Volume, string, string) {
	b.Helper()
	if p := imageDir() + "/big.img"; fileExists(p) {
		v, err := Open(p)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { v.Close() })
		return v, "large.bin", "huge"
	}
	return openImage(b, "small"), "large.bin", "bigdir"
}

// BenchmarkReadLargeFile reads a large file in 1 MiB ReadAt calls.
func BenchmarkReadLargeFile(b *testing.B) {
	v, file, _ := benchVolume(b)
	f, err := v.OpenFile(file)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(f.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for off := int64(0); off < f.Size(); off += int64(len(buf)) {
			if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkListBigDir lists the biggest directory, cold record cache.
func BenchmarkListBigDir(b *testing.B) {
	v, _, dir := benchVolume(b)
	for i := 0; i < b.N; i++ {
		v.cache = newNodeCache(nodeCacheSize)
		v.indexes = newLRU[indexKey, []indexEntry](indexCacheSize)
		v.listings = gencache.New[listingKey, *listing](maxListedEntries/2, func(l *listing) int { return len(l.ents) + 1 })
		d, err := v.ReadDir(dir)
		if err != nil || len(d) < 1000 {
			b.Fatalf("%d entries, %v", len(d), err)
		}
	}
}

// BenchmarkReadCompressed reads an LZNT1-compressed file.
func BenchmarkReadCompressed(b *testing.B) {
	v := openImage(b, "small")
	f, err := v.OpenFile("compressed/text.txt")
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	b.SetBytes(f.Size())
	for i := 0; i < b.N; i++ {
		for off := int64(0); off < f.Size(); off += int64(len(buf)) {
			if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkStatBigDir stats every entry of the biggest directory by path,
// as a FUSE lookup after `ls -l` did before LookupIn: each Stat walks from
// the root. One op is the whole directory; caches stay warm across ops.
func BenchmarkStatBigDir(b *testing.B) {
	v, _, dir := benchVolume(b)
	ents, err := v.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, e := range ents {
			if _, err := v.Stat(dir + "/" + e.Name()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ents)), "ns/stat")
}

// BenchmarkLookupInBigDir looks every entry of the biggest directory up
// by the directory's MFT reference, as the FUSE tree does.
func BenchmarkLookupInBigDir(b *testing.B) {
	v, _, dir := benchVolume(b)
	ents, err := v.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	fi, err := v.Stat(dir)
	if err != nil {
		b.Fatal(err)
	}
	ref := fi.Sys().(*FileRecordInfo).Ref
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, e := range ents {
			if _, err := v.LookupIn(ref, e.Name()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ents)), "ns/lookup")
}
