package remote

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// diskBlocks keeps blocks as files under a directory, named by a hash of
// the object's name, version and block number, so that a replaced object
// never reads old blocks. Over max bytes, the oldest files go first.
type diskBlocks struct {
	dir     string
	mu      sync.Mutex
	max, sz int64
}

func diskCache() *diskBlocks {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if diskOnce {
		return diskC
	}
	diskOnce = true
	o := options()
	if o.CacheDir == "" {
		return nil
	}
	if err := os.MkdirAll(o.CacheDir, 0o700); err != nil {
		return nil
	}
	d := &diskBlocks{dir: o.CacheDir, max: o.CacheSize}
	filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				d.sz += fi.Size()
			}
		}
		return nil
	})
	diskC = d
	return d
}

func (d *diskBlocks) path(f *file, i int64) string {
	name, ver := f.cacheName()
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d\x00%d", name, ver, BlockSize, i)))
	s := hex.EncodeToString(h[:16])
	return filepath.Join(d.dir, s[:2], s)
}

// getRun fills the blocks of cl from the cache when it holds every one
// of them, and says whether it did.
func (d *diskBlocks) getRun(f *file, cl *call) bool {
	for k := int64(0); k < cl.n; k++ {
		if !d.get(f, cl.first+k, cl.dst(k*BlockSize, (k+1)*BlockSize)) {
			return false
		}
	}
	return true
}

// get reads block i of f, len(b) bytes, into b, and says whether the
// cache held it whole.
func (d *diskBlocks) get(f *file, i int64, b []byte) bool {
	if f.fi.ID.Version == "" {
		return false // no version: a cached block could be stale
	}
	fh, err := os.Open(d.path(f, i))
	if err != nil {
		return false
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err != nil || fi.Size() != int64(len(b)) {
		return false
	}
	_, err = io.ReadFull(fh, b)
	return err == nil
}

func (d *diskBlocks) put(f *file, i int64, b []byte) {
	if f.fi.ID.Version == "" || int64(len(b)) > d.max {
		return
	}
	p := d.path(f, i)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp*")
	if err != nil {
		return
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return
	}
	d.mu.Lock()
	d.sz += int64(len(b))
	over := d.sz > d.max
	d.mu.Unlock()
	if over {
		d.evict()
	}
}

// evict removes the oldest block files until the cache holds 90% of max.
func (d *diskBlocks) evict() {
	d.mu.Lock()
	defer d.mu.Unlock()
	type ent struct {
		p    string
		size int64
		mod  int64
	}
	var all []ent
	var total int64
	filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				all = append(all, ent{p, fi.Size(), fi.ModTime().UnixNano()})
				total += fi.Size()
			}
		}
		return nil
	})
	sort.Slice(all, func(i, j int) bool { return all[i].mod < all[j].mod })
	for _, e := range all {
		if total <= d.max*9/10 {
			break
		}
		if os.Remove(e.p) == nil {
			total -= e.size
		}
	}
	d.sz = total
}
