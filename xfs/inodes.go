package xfs

import (
	"bytes"
	"encoding/binary"
	"slices"
)

// Inodes by number, for comparing two states of one volume by the inodes
// that lie in the byte ranges that changed (package diff, through
// guest.InodeFS). An XFS inode number says where the inode lies (AG,
// block in the AG, slot in the block); which numbers are in use the
// inode btree of each AG says.

// InodeEntry is one name of a directory listed by inode.
type InodeEntry struct {
	Name string
	Ino  uint64
}

// Inode btree block magics, and bounds on a walk of one AG's tree.
const (
	inobtMagicV4  = "IABT"
	inobtMagicV5  = "IAB3"
	maxInobtDepth = 8
	inobtRecLen   = 16
	inodesPerRec  = 64
)

// RootInode is the root directory's inode.
func (v *FS) RootInode() uint64 { return v.sb.rootIno }

// InodeGroups is the number of allocation groups.
func (v *FS) InodeGroups() uint64 { return uint64(v.sb.agCount) }

// InodeGroup is the AG of inode ino: the kernel puts a file's inode in
// its directory's AG when it can.
func (v *FS) InodeGroup(ino uint64) uint64 { return ino >> (v.sb.agBlkLog + v.sb.inoPBLog) }

// userInode tells whether ino can be a file of the tree: not one the
// superblock keeps for itself (quota files, the realtime bitmap and
// summary).
func (v *FS) userInode(ino uint64) bool { return ino != 0 && !slices.Contains(v.sb.hidden, ino) }

// InodesIn returns, ascending, the inodes whose slots have a byte in the
// volume range [off, end) and hold an inode core (its magic, and on a v5
// volume its own number): a range of file data holds none.
func (v *FS) InodesIn(off, end int64) []uint64 {
	off, end = max(off, 0), min(end, v.end)
	bs := int64(v.sb.blockSize)
	isz := int64(v.sb.inodeSize)
	var out []uint64
	buf := make([]byte, bs)
	for blk := off / bs; blk*bs < end; blk++ {
		if err := v.readRaw(buf, blk*bs); err != nil {
			continue
		}
		ag, agb := uint64(blk)/uint64(v.sb.agBlocks), uint64(blk)%uint64(v.sb.agBlocks)
		for i := int64(0); i < bs/isz; i++ {
			at := blk*bs + i*isz
			if at+isz <= off || at >= end {
				continue
			}
			ino := (ag<<v.sb.agBlkLog|agb)<<v.sb.inoPBLog | uint64(i)
			if v.userInode(ino) && v.inodeCore(buf[i*isz:(i+1)*isz], ino) {
				out = append(out, ino)
			}
		}
	}
	return out
}

// inodeCore tells whether b looks like inode ino as stored.
func (v *FS) inodeCore(b []byte, ino uint64) bool {
	if len(b) < 100 || string(b[0:2]) != "IN" {
		return false
	}
	if v.sb.hasCRC() {
		return len(b) >= 160 && b[4] == 3 && binary.BigEndian.Uint64(b[152:]) == ino
	}
	return b[4] == 1 || b[4] == 2
}

// InodeBytes returns a copy of inode ino's slot as stored.
func (v *FS) InodeBytes(ino uint64) ([]byte, error) {
	off, err := v.sb.inodeOffset(ino)
	if err != nil {
		return nil, kindErr(ErrRange, -1, "%v", err)
	}
	b, err := v.inodeBytes(newBudget(), off)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// InodeInfo describes inode ino; ok is false for a slot that holds no
// file: not an inode core (no chunk there), free (no mode or no links),
// or kept by the superblock.
func (v *FS) InodeInfo(ino uint64) (fi *fileInfo, ok bool, err error) {
	if !v.userInode(ino) {
		return nil, false, nil
	}
	off, err := v.sb.inodeOffset(ino)
	if err != nil {
		return nil, false, nil
	}
	b, err := v.inodeBytes(newBudget(), off)
	if err != nil {
		return nil, false, err
	}
	if !v.inodeCore(b, ino) || binary.BigEndian.Uint16(b[2:]) == 0 {
		return nil, false, nil // not an inode, or a free one (no mode)
	}
	in, err := v.inode(newBudget(), ino)
	if err != nil {
		return nil, false, err
	}
	if in.mode == 0 || in.nlink == 0 {
		return nil, false, nil
	}
	return v.info(in, ""), true, nil
}

// InodeDir returns the entries of directory inode ino, sorted by name,
// without "." and "..", and its parent.
func (v *FS) InodeDir(ino uint64) (ents []InodeEntry, parent uint64, err error) {
	b := newBudget()
	in, err := v.inode(b, ino)
	if err != nil {
		return nil, 0, err
	}
	if !in.isDir() {
		return nil, 0, formatErr(in.off, "inode %d is not a directory", ino)
	}
	list, err := v.readDir(b, in)
	if err != nil {
		return nil, 0, err
	}
	ents = make([]InodeEntry, len(list))
	for i, e := range list {
		ents[i] = InodeEntry{Name: e.name, Ino: e.ino}
	}
	parent, err = v.dotdot(b, in)
	return ents, parent, err
}

// dotdot returns a directory's parent: in the short form's header, else
// the second entry of the first data block (after ".").
func (v *FS) dotdot(b *budget, in *inode) (uint64, error) {
	be := binary.BigEndian
	if in.format == fmtLocal {
		d := in.dfork[:min(int64(len(in.dfork)), max(in.size, 0))]
		if len(d) >= 2 && d[1] != 0 && len(d) >= 10 {
			return be.Uint64(d[2:]), nil
		}
		if len(d) < 6 {
			return 0, formatErr(in.off, "directory inode %d: short form of %d bytes", in.ino, len(d))
		}
		return uint64(be.Uint32(d[2:])), nil
	}
	exts, err := v.forkExtents(b, in, false)
	if err != nil {
		return 0, err
	}
	blk, at, ok, err := v.readBlocks(b, exts, 0, v.sb.dirBlockSize())
	if err != nil {
		return 0, err
	}
	hdr := 16
	if v.sb.hasCRC() {
		hdr = 64
	}
	entry := 8 + 1 + 1 + 2 // ".": number, name length, name, tag
	if v.sb.ftype {
		entry++
	}
	p := hdr + (entry+7)&^7
	if !ok || p+11 > len(blk) || blk[hdr+8] != 1 || blk[hdr+9] != '.' || blk[p+8] != 2 || string(blk[p+9:p+11]) != ".." {
		return 0, formatErr(at, "directory inode %d: the first data block does not begin with \".\" and \"..\"", in.ino)
	}
	return be.Uint64(blk[p:]), nil
}

// GroupInodes returns the inodes in use in AG g, from its inode btree
// (only the directories when dirs is set).
func (v *FS) GroupInodes(g uint64, dirs bool) ([]uint64, error) {
	if g >= uint64(v.sb.agCount) {
		return nil, nil
	}
	b := newBudget()
	agOff := int64(g*uint64(v.sb.agBlocks)) << v.sb.blockLog
	agi, err := v.meta(b, agOff+2*int64(v.sb.sectSize), int(v.sb.sectSize))
	if err != nil {
		return nil, err
	}
	if string(agi[0:4]) != "XAGI" {
		return nil, formatErr(agOff+2*int64(v.sb.sectSize), "AG %d: no AGI magic", g)
	}
	root := binary.BigEndian.Uint32(agi[20:])
	level := binary.BigEndian.Uint32(agi[24:])
	if level == 0 || level > maxInobtDepth {
		return nil, formatErr(agOff+2*int64(v.sb.sectSize), "AG %d: inode btree of %d levels", g, level)
	}
	// A chunk record per 64 inodes the AG can hold, each block read once:
	// a hostile tree that points back into itself ends there.
	w := inobtWalk{v: v, b: b, ag: g, agOff: agOff, dirs: dirs, seen: map[uint32]bool{},
		records: uint64(v.sb.agBlocks)<<v.sb.inoPBLog/inodesPerRec + 1}
	err = w.node(root, int(level)-1)
	return w.out, err
}

// inobtWalk lists the inodes of one AG's inode btree.
type inobtWalk struct {
	v     *FS
	b     *budget
	ag    uint64
	agOff int64
	dirs  bool
	out   []uint64
	seen  map[uint32]bool // blocks read
	// records is how many chunk records may still be listed.
	records uint64
}

// node reads the btree block at agbno, at level (0: a leaf).
func (w *inobtWalk) node(agbno uint32, level int) error {
	v := w.v
	be := binary.BigEndian
	if agbno >= v.sb.agBlocks {
		return formatErr(w.agOff, "AG %d: inode btree block %d past the AG's %d", w.ag, agbno, v.sb.agBlocks)
	}
	at := w.agOff + int64(agbno)<<v.sb.blockLog
	if w.seen[agbno] {
		return formatErr(at, "AG %d: inode btree block %d reached twice", w.ag, agbno)
	}
	w.seen[agbno] = true
	blk, err := v.meta(w.b, at, int(v.sb.blockSize))
	if err != nil {
		return err
	}
	hdr, magic := 16, inobtMagicV4
	if v.sb.hasCRC() {
		hdr, magic = 56, inobtMagicV5
	}
	if string(blk[0:4]) != magic || int(be.Uint16(blk[4:])) != level {
		return formatErr(at, "AG %d: inode btree block %d: magic %q level %d, want %q level %d", w.ag, agbno, blk[0:4], be.Uint16(blk[4:]), magic, level)
	}
	n := int(be.Uint16(blk[6:]))
	if level == 0 {
		if hdr+n*inobtRecLen > len(blk) {
			return formatErr(at, "AG %d: inode btree leaf of %d records", w.ag, n)
		}
		for i := range n {
			r := blk[hdr+i*inobtRecLen:]
			if err := w.record(be.Uint32(r), be.Uint64(r[8:])); err != nil {
				return err
			}
		}
		return nil
	}
	maxRecs := (len(blk) - hdr) / 8
	if n > maxRecs {
		return formatErr(at, "AG %d: inode btree node of %d keys", w.ag, n)
	}
	for i := range n {
		if err := w.node(be.Uint32(blk[hdr+maxRecs*4+i*4:]), level-1); err != nil {
			return err
		}
	}
	return nil
}

// record lists the inodes in use of one chunk (a clear bit of free).
func (w *inobtWalk) record(start uint32, free uint64) error {
	if w.records == 0 {
		return formatErr(w.agOff, "AG %d: more inode chunk records than the AG holds chunks", w.ag)
	}
	w.records--
	for i := range uint64(inodesPerRec) {
		if free&(1<<i) != 0 {
			continue
		}
		ino := w.ag<<(w.v.sb.agBlkLog+w.v.sb.inoPBLog) | (uint64(start) + i)
		if !w.dirs {
			if w.v.userInode(ino) {
				w.out = append(w.out, ino)
			}
			continue
		}
		if fi, ok, err := w.v.InodeInfo(ino); err == nil && ok && fi.IsDir() {
			w.out = append(w.out, ino)
		}
	}
	return nil
}

// OpenInode opens the data of inode ino.
func (v *FS) OpenInode(ino uint64) (*File, error) {
	b := newBudget()
	in, err := v.inode(b, ino)
	if err != nil {
		return nil, err
	}
	return v.openInode(b, in, "")
}
