package ntfs

import (
	"io/fs"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestInfoKeepsNoRecord: a FileRecordInfo a caller keeps (a FUSE inode
// keeps one per file) must not keep the decoded record it came from
// alive once the caches drop it. ntfs-3g gives every file a resident
// $SECURITY_DESCRIPTOR; a slice of it in the info kept 2 KiB of record
// and attributes per file, 100 MiB for a walk of 50,000 files.
func TestInfoKeepsNoRecord(t *testing.T) {
	v := openImage(t, "small")
	var infos []*FileRecordInfo
	var freed atomic.Int64
	err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		info := fi.Sys().(*FileRecordInfo)
		n, ok := v.cache.Get(info.Ref.Record)
		if !ok {
			t.Fatalf("%s: record %d not cached", p, info.Ref.Record)
		}
		runtime.AddCleanup(n.rec, func(*atomic.Int64) { freed.Add(1) }, &freed)
		infos = append(infos, info)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	withSD := 0
	for _, info := range infos {
		if info.hasSD {
			withSD++
		}
	}
	if withSD == 0 {
		t.Fatal("no file has a $SECURITY_DESCRIPTOR attribute: the test proves nothing")
	}
	v.cache = newNodeCache(nodeCacheSize)
	v.listings = nil
	for i := 0; i < 50 && freed.Load() < int64(len(infos)); i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := freed.Load(); got != int64(len(infos)) {
		t.Errorf("%d of %d records freed while their infos are kept (%d with a descriptor)", got, len(infos), withSD)
	}
	for _, info := range infos {
		if sd, err := info.SecurityDescriptor(); err != nil || info.hasSD && len(sd) == 0 {
			t.Fatalf("record %d: descriptor %d bytes, %v", info.Ref.Record, len(sd), err)
		}
	}
	runtime.KeepAlive(infos)
}
