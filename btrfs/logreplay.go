package btrfs

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// A btrfs commits its trees every 30 seconds; an fsync in between writes
// the changed inodes to a log tree instead, and the superblock points at
// it until the next commit. A crash, or a checkpoint of a running guest,
// leaves it there, and the kernel replays it at the next mount: without
// the replay, files fsync'd in the last seconds are missing or older.
// This file replays the log into patches of the subvolume trees (and the
// checksum tree), in the kernel's order: inode items (with the deletions
// of directory entries and xattrs the log proves gone), then directory
// index entries, then names, file extents and xattrs, then the link
// counts and directory sizes that follow from the names.

// More item types, found in log trees.
const (
	typInodeExtref = 13
	typDirLogItem  = 60
	typDirLogIndex = 72

	treeLogID = ^uint64(0) - 5 // BTRFS_TREE_LOG_OBJECTID
)

// maxLogItems bounds the items of the log trees read into memory.
const maxLogItems = 1 << 20

// LogState says what was done with a log tree found at open.
type LogState struct {
	// Present: the superblock pointed at a log tree.
	Present bool
	// Replayed: it was applied in memory to the trees it names; Items
	// counts the items it held.
	Replayed bool
	Items    int
	// Note says why it was not replayed, or what the replay left out.
	Note string
}

// String reads as package guest's Journaler contract wants it.
func (s LogState) String() string {
	switch {
	case !s.Present:
		return "clean"
	case s.Replayed && s.Note != "":
		return fmt.Sprintf("replayed (log tree of %d items; %s)", s.Items, s.Note)
	case s.Replayed:
		return fmt.Sprintf("replayed (log tree of %d items)", s.Items)
	}
	return "NOT replayed, last committed state shown: " + s.Note
}

// replayLog reads the log root tree and builds the patches. Any fault
// leaves every tree as committed and says why in the state.
func (v *Volume) replayLog() LogState {
	st := LogState{Present: true}
	logs := map[uint64]root{}
	// The log root tree belongs to the transaction after the committed one.
	lr := root{bytenr: v.sb.logRoot, level: v.sb.logRootLevel, gen: v.sb.generation + 1}
	err := v.walk(lr, key{treeLogID, typRootItem, 0}, key{treeLogID, typRootItem, ^uint64(0)}, func(k key, d []byte) error {
		ri, ok := parseRootItem(d)
		if !ok {
			return formatErr(-1, "log root item of tree %d is %d bytes", k.offset, len(d))
		}
		if ri.tree.level >= maxLevel {
			return kindErr(ErrLoop, -1, "log of tree %d at level %d", k.offset, ri.tree.level)
		}
		logs[k.offset] = ri.tree
		return nil
	})
	if err != nil {
		st.Note = "reading the log root tree: " + err.Error()
		return st
	}
	patches := map[uint64]*patch{}
	csums := newPatch()
	var notes []string
	for id, lt := range logs {
		sv, err := v.subvol(id)
		if err != nil {
			st.Note = fmt.Sprintf("the log names tree %d: %v", id, err)
			return st
		}
		r := &replayer{v: v, base: sv.tree, p: newPatch(), csums: csums}
		n, err := r.run(lt)
		st.Items += n
		if err != nil {
			st.Note = fmt.Sprintf("replaying the log of subvolume %d: %v", id, err)
			return st
		}
		notes = append(notes, r.notes...)
		patches[id] = r.p
	}
	// Only now, with every log read, do the trees change.
	v.mu.Lock()
	for _, p := range patches {
		p.seal()
		p.dirty = nil
	}
	v.logPatches = patches
	clear(v.subvols) // opened unpatched while replaying
	v.mu.Unlock()
	if len(csums.puts) > 0 {
		csums.seal()
		csums.dirty = nil
		v.csum.patch = csums
	}
	st.Replayed = true
	if len(notes) > 0 {
		st.Note = notes[0]
	}
	return st
}

// replayer replays the log of one subvolume.
type replayer struct {
	v     *Volume
	base  root // the committed tree
	p     *patch
	csums *patch
	notes []string
	// touched are inodes whose names changed (their link count follows);
	// dirs are directories whose entries changed (their size follows).
	touched map[uint64]bool
	dirs    map[uint64]bool
}

// cur is the replayed tree so far.
func (r *replayer) cur() root {
	t := r.base
	t.patch = r.p
	return t
}

func (r *replayer) get(k key) []byte {
	d, err := r.v.lookup(r.cur(), k)
	if err != nil {
		return nil
	}
	return d
}

func (r *replayer) items(min, max key) ([]item, error) {
	var out []item
	err := r.v.walk(r.cur(), min, max, func(k key, d []byte) error {
		out = append(out, item{k, d})
		return nil
	})
	return out, err
}

func (r *replayer) run(log root) (int, error) {
	r.touched, r.dirs = map[uint64]bool{}, map[uint64]bool{}
	var items []item
	err := r.v.walk(log, key{}, key{^uint64(0), 0xff, ^uint64(0)}, func(k key, d []byte) error {
		if len(items) >= maxLogItems {
			return formatErr(-1, "log tree of more than %d items", maxLogItems)
		}
		items = append(items, item{k, d})
		return nil
	})
	if err != nil {
		return len(items), err
	}
	return len(items), r.replay(items)
}

// replay applies the items of a log tree, in key order.
func (r *replayer) replay(items []item) error {
	// An inode logged with no links (an O_TMPFILE fsync'd before it was
	// linked, by older kernels) would be deleted after the replay: the
	// kernel skips its items, and so does this.
	unlinked := map[uint64]bool{}
	for _, it := range items {
		if in, ok := parseInode(it.d); ok && it.k.typ == typInodeItem && in.nlink == 0 {
			unlinked[it.k.objectid] = true
		}
	}
	kept := items[:0:0]
	for _, it := range items {
		if !unlinked[it.k.objectid] {
			kept = append(kept, it)
		}
	}
	items = kept
	inLog := map[key][]byte{}
	for _, it := range items {
		inLog[it.k] = it.d
	}
	// 1: inode items, after the deletions they prove.
	for _, it := range items {
		if it.k.typ != typInodeItem {
			continue
		}
		if err := r.inodeItem(it, inLog); err != nil {
			return err
		}
	}
	// 2: directory index entries.
	for _, it := range items {
		if it.k.typ != typDirIndex {
			continue
		}
		if err := r.dirIndex(it); err != nil {
			return err
		}
	}
	// 3: names, file extents, xattrs, checksums.
	for _, it := range items {
		var err error
		switch it.k.typ {
		case typInodeRef:
			err = r.inodeRef(it)
		case typInodeExtref:
			r.note("extended inode references (very many hard links) are not replayed")
		case typExtentData:
			err = r.extent(it)
		case typXattr:
			r.p.put(it.k, it.d)
		case typExtentCsum:
			if it.k.objectid == extentCsumID {
				r.csums.put(it.k, it.d)
			}
		}
		if err != nil {
			return err
		}
	}
	return r.fixCounts()
}

func (r *replayer) note(s string) {
	for _, n := range r.notes {
		if n == s {
			return
		}
	}
	r.notes = append(r.notes, s)
}

// inodeItem replays one logged inode: a directory loses the entries the
// log's index ranges cover but no longer hold, the inode loses xattrs the
// log does not have, and its item becomes the log's.
func (r *replayer) inodeItem(it item, inLog map[key][]byte) error {
	ino := it.k.objectid
	logged, ok := parseInode(it.d)
	if !ok {
		return formatErr(-1, "logged inode item %d is %d bytes", ino, len(it.d))
	}
	if logged.mode&sIFMT == sIFDIR {
		if err := r.dirDeletes(ino, inLog); err != nil {
			return err
		}
	}
	xs, err := r.items(key{ino, typXattr, 0}, key{ino, typXattr, ^uint64(0)})
	if err != nil {
		return err
	}
	for _, x := range xs {
		lx := inLog[x.k]
		var keep [][]byte
		parseDirItems(x.d, func(e dirEntry) bool {
			if lx != nil && hasName(lx, e.name) {
				keep = append(keep, rawEntry(x.d, e))
			}
			return true
		})
		r.putOrDel(x.k, bytes.Join(keep, nil))
	}
	d := bytes.Clone(it.d)
	if old := r.get(it.k); old != nil {
		prev, _ := parseInode(old)
		// A file logged only to say it exists carries size 0; a directory's
		// size follows its entries (fixCounts).
		if logged.mode&sIFMT == sIFREG && prev.mode&sIFMT == sIFREG && logged.size == 0 {
			binary.LittleEndian.PutUint64(d[16:], prev.size)
		}
	}
	r.p.put(it.k, d)
	r.touched[ino] = true
	if logged.mode&sIFMT == sIFDIR {
		r.dirs[ino] = true
	}
	return nil
}

// dirDeletes removes the entries of dir that lie in a range the log
// covers (DIR_LOG_INDEX items: the log holds every entry of the range)
// but are not in the log.
func (r *replayer) dirDeletes(dir uint64, inLog map[key][]byte) error {
	ranges, err := r.v.logRanges(inLog, dir)
	if err != nil {
		return err
	}
	for _, rg := range ranges {
		ents, err := r.items(key{dir, typDirIndex, rg[0]}, key{dir, typDirIndex, rg[1]})
		if err != nil {
			return err
		}
		for _, e := range ents {
			var de dirEntry
			parseDirItems(e.d, func(x dirEntry) bool { de = x; return false })
			if de.name == nil {
				continue
			}
			if l := inLog[e.k]; l != nil && hasName(l, de.name) {
				continue
			}
			if err := r.unlink(dir, e.k.offset, de); err != nil {
				return err
			}
		}
	}
	return nil
}

// logRanges lists the [first, last] index ranges the log covers for dir.
func (v *Volume) logRanges(inLog map[key][]byte, dir uint64) ([][2]uint64, error) {
	var out [][2]uint64
	for k, d := range inLog {
		if k.objectid != dir || k.typ != typDirLogIndex {
			continue
		}
		if len(d) < 8 {
			return nil, formatErr(-1, "directory log range of %d is %d bytes", dir, len(d))
		}
		end := binary.LittleEndian.Uint64(d)
		if end < k.offset {
			return nil, formatErr(-1, "directory log range of %d ends before it starts", dir)
		}
		out = append(out, [2]uint64{k.offset, end})
	}
	return out, nil
}

// dirIndex replays one logged directory entry.
func (r *replayer) dirIndex(it item) error {
	dir, idx := it.k.objectid, it.k.offset
	var e dirEntry
	parseDirItems(it.d, func(x dirEntry) bool { e = x; return false })
	if e.name == nil {
		return formatErr(-1, "logged directory index %d/%d is empty", dir, idx)
	}
	if e.location.typ != typInodeItem {
		return nil // a subvolume link: not logged as a name to replay
	}
	return r.link(dir, idx, e)
}

// link makes name e (pointing at e.location) appear in dir at index idx,
// replacing another inode's entry of the same name.
func (r *replayer) link(dir, idx uint64, e dirEntry) error {
	child := e.location.objectid
	if r.get(key{child, typInodeItem, 0}) == nil {
		return nil // the kernel adds no name for an inode that is not there
	}
	if old, oldIdx, ok := r.findName(dir, e.name); ok {
		if old.location.objectid == child && oldIdx == idx {
			return nil
		}
		if err := r.unlink(dir, oldIdx, old); err != nil {
			return err
		}
	}
	if d := r.get(key{dir, typDirIndex, idx}); d != nil {
		var other dirEntry
		parseDirItems(d, func(x dirEntry) bool { other = x; return false })
		if other.name != nil {
			if err := r.unlink(dir, idx, other); err != nil {
				return err
			}
		}
	}
	entry := makeDirEntry(e)
	r.p.put(key{dir, typDirIndex, idx}, entry)
	hk := key{dir, typDirItem, nameHash(e.name)}
	r.p.put(hk, append(bytes.Clone(r.get(hk)), entry...))
	rk := key{child, typInodeRef, dir}
	r.p.put(rk, append(bytes.Clone(r.get(rk)), makeRef(idx, e.name)...))
	r.touched[child], r.dirs[dir] = true, true
	return nil
}

// findName finds name in dir by its hash, with its index from the
// child's back reference.
func (r *replayer) findName(dir uint64, name []byte) (dirEntry, uint64, bool) {
	d := r.get(key{dir, typDirItem, nameHash(name)})
	var hit dirEntry
	parseDirItems(d, func(x dirEntry) bool {
		if bytes.Equal(x.name, name) {
			hit = x
			return false
		}
		return true
	})
	if hit.name == nil {
		return hit, 0, false
	}
	idx, ok := refIndex(r.get(key{hit.location.objectid, typInodeRef, dir}), name)
	return hit, idx, ok
}

// unlink removes name e from dir (index idx): its index entry, its hashed
// entry and the child's back reference.
func (r *replayer) unlink(dir, idx uint64, e dirEntry) error {
	ik := key{dir, typDirIndex, idx}
	if d := r.get(ik); d != nil && hasName(d, e.name) {
		r.p.del(ik)
	}
	hk := key{dir, typDirItem, nameHash(e.name)}
	r.putOrDel(hk, withoutName(r.get(hk), e.name))
	if e.location.typ == typInodeItem {
		child := e.location.objectid
		rk := key{child, typInodeRef, dir}
		r.putOrDel(rk, withoutRef(r.get(rk), e.name))
		r.touched[child] = true
	}
	r.dirs[dir] = true
	return nil
}

// inodeRef replays the names of an inode in one directory: names the log
// has are linked, names the tree has beyond them are unlinked, and the
// back reference becomes the log's.
func (r *replayer) inodeRef(it item) error {
	child, dir := it.k.objectid, it.k.offset
	in, ok := parseInode(r.get(key{child, typInodeItem, 0}))
	if !ok {
		return nil
	}
	logged := parseRefs(it.d)
	for _, old := range parseRefs(r.get(it.k)) {
		if !containsRef(logged, old.name) {
			if e, idx, ok := r.findName(dir, old.name); ok && e.location.objectid == child {
				if err := r.unlink(dir, idx, e); err != nil {
					return err
				}
			}
		}
	}
	for _, ref := range logged {
		e := dirEntry{location: key{child, typInodeItem, 0}, typ: fileType(in.mode), name: ref.name}
		if err := r.link(dir, ref.index, e); err != nil {
			return err
		}
	}
	r.p.put(it.k, bytes.Clone(it.d))
	r.touched[child] = true
	return nil
}

// extent replays one logged file extent: the extents it overlaps are cut
// back or dropped, then it is put in.
func (r *replayer) extent(it item) error {
	ino, start := it.k.objectid, it.k.offset
	end, ok := extentEnd(start, it.d, uint64(r.v.sb.sectorSize))
	if !ok {
		return formatErr(-1, "logged file extent %d@%d is %d bytes", ino, start, len(it.d))
	}
	// No extent is longer than 128 MiB (inline ones are smaller), so one
	// that overlaps start begins at most that far before it.
	const maxExtent = 128 << 20
	olds, err := r.items(key{ino, typExtentData, start - min(start, maxExtent)}, key{ino, typExtentData, end - 1})
	if err != nil {
		return err
	}
	for _, o := range olds {
		os := o.k.offset
		oe, ok := extentEnd(os, o.d, uint64(r.v.sb.sectorSize))
		if !ok || oe <= start || os >= end {
			continue
		}
		inline := o.d[20] == 0
		if os < start && !inline {
			r.p.put(o.k, trimExtent(o.d, 0, start-os))
		} else {
			r.p.del(o.k)
		}
		if oe > end && !inline {
			r.p.put(key{ino, typExtentData, end}, trimExtent(o.d, end-os, oe-end))
		}
	}
	r.p.put(it.k, bytes.Clone(it.d))
	return nil
}

// fixCounts sets the link count of every inode whose names changed to
// the names it has, and the size of every changed directory to what its
// entries make (twice the bytes of their names), as the kernel does
// after a replay.
func (r *replayer) fixCounts() error {
	for ino := range r.touched {
		k := key{ino, typInodeItem, 0}
		d := r.get(k)
		in, ok := parseInode(d)
		if !ok {
			continue
		}
		d = bytes.Clone(d)
		if in.mode&sIFMT == sIFDIR {
			binary.LittleEndian.PutUint32(d[40:], 1)
		} else {
			refs, err := r.items(key{ino, typInodeRef, 0}, key{ino, typInodeRef, ^uint64(0)})
			if err != nil {
				return err
			}
			n := 0
			for _, ref := range refs {
				n += len(parseRefs(ref.d))
			}
			binary.LittleEndian.PutUint32(d[40:], uint32(n))
		}
		r.p.put(k, d)
	}
	for dir := range r.dirs {
		k := key{dir, typInodeItem, 0}
		d := r.get(k)
		if in, ok := parseInode(d); !ok || in.mode&sIFMT != sIFDIR {
			continue
		}
		ents, err := r.items(key{dir, typDirIndex, 0}, key{dir, typDirIndex, ^uint64(0)})
		if err != nil {
			return err
		}
		size := uint64(0)
		for _, e := range ents {
			parseDirItems(e.d, func(x dirEntry) bool { size += 2 * uint64(len(x.name)); return false })
		}
		d = bytes.Clone(d)
		binary.LittleEndian.PutUint64(d[16:], size)
		r.p.put(k, d)
	}
	return nil
}

func (r *replayer) putOrDel(k key, d []byte) {
	if len(d) == 0 {
		r.p.del(k)
	} else {
		r.p.put(k, d)
	}
}
