package btrfs

import (
	"slices"
)

// patch is a tree's items as a log replay changed them: items put (new
// or replacing the tree's) and items taken away. The tree's blocks are
// never written; walks of a patched root merge the patch into what the
// blocks hold.
//
// The replay reads the tree it is patching after every change, nearly
// always one object at a time (an inode's extents, a directory's
// entries), so the keys put are kept sorted per object and only the
// object walked is sorted, when it changed: a log of many objects costs
// no more than the sum of its objects.
type patch struct {
	puts  map[key][]byte
	dels  map[key]bool
	objs  map[uint64][]key // keys of puts by objectid
	dirty map[uint64]bool  // objects whose keys are not sorted
}

func newPatch() *patch {
	return &patch{puts: map[key][]byte{}, dels: map[key]bool{}, objs: map[uint64][]key{}, dirty: map[uint64]bool{}}
}

func (p *patch) put(k key, d []byte) {
	if _, ok := p.puts[k]; !ok {
		p.objs[k.objectid] = append(p.objs[k.objectid], k)
		p.dirty[k.objectid] = true
	}
	p.puts[k] = d
	delete(p.dels, k)
}

func (p *patch) del(k key) {
	if _, ok := p.puts[k]; ok {
		delete(p.puts, k)
		ks := p.objs[k.objectid]
		if i := slices.Index(ks, k); i >= 0 {
			p.objs[k.objectid] = slices.Delete(ks, i, i+1)
		}
	}
	p.dels[k] = true
}

// seal sorts every object's keys: a sealed patch is only read, by any
// number of goroutines.
func (p *patch) seal() {
	for obj := range p.dirty {
		p.sortObj(obj)
	}
}

func (p *patch) sortObj(obj uint64) {
	if p.dirty[obj] {
		slices.SortFunc(p.objs[obj], func(a, b key) int { return a.cmp(b) })
		delete(p.dirty, obj)
	}
}

// keysIn returns the keys put in [min, max], sorted.
func (p *patch) keysIn(min, max key) []key {
	var out []key
	for obj, ks := range p.objs {
		if obj < min.objectid || obj > max.objectid {
			continue
		}
		p.sortObj(obj)
		ks = p.objs[obj]
		lo, _ := slices.BinarySearchFunc(ks, min, func(a, b key) int { return a.cmp(b) })
		for _, k := range ks[lo:] {
			if k.cmp(max) > 0 {
				break
			}
			out = append(out, k)
		}
	}
	if min.objectid != max.objectid {
		slices.SortFunc(out, func(a, b key) int { return a.cmp(b) })
	}
	return out
}

// item is one leaf item of a merged walk.
type item struct {
	k key
	d []byte
}

// walkPatched is walk over r's blocks with r.patch merged in.
func (v *Volume) walkPatched(r root, min, max key, fn func(k key, data []byte) error) error {
	p := r.patch
	base := r
	base.patch = nil
	if min == max { // a lookup
		if d, ok := p.puts[min]; ok {
			return ignoreStop(fn(min, d))
		}
		if p.dels[min] || base.bytenr == 0 {
			return nil
		}
		return v.walk(base, min, max, fn)
	}
	var items []item
	if base.bytenr != 0 {
		err := v.walk(base, min, max, func(k key, d []byte) error {
			if _, ok := p.puts[k]; !ok && !p.dels[k] {
				items = append(items, item{k, d})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	keys := p.keysIn(min, max)
	i, j := 0, 0
	for {
		var next item
		switch {
		case i < len(keys) && (j == len(items) || keys[i].cmp(items[j].k) < 0):
			next = item{keys[i], p.puts[keys[i]]}
			i++
		case j < len(items):
			next = items[j]
			j++
		default:
			return nil
		}
		if err := fn(next.k, next.d); err != nil {
			return ignoreStop(err)
		}
	}
}

func ignoreStop(err error) error {
	if err == errStop {
		return nil
	}
	return err
}
