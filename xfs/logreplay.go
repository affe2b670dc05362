package xfs

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// Log item types (the first 16 bits of an item's format region).
const (
	liEFI     = 0x1236
	liEFD     = 0x1237
	liInode   = 0x123b
	liBuf     = 0x123c
	liDquot   = 0x123d
	liQuotOff = 0x123e
	liICreate = 0x123f
	liRUI     = 0x1240
	liRUD     = 0x1241
	liCUI     = 0x1242
	liCUD     = 0x1243
	liBUI     = 0x1244
	liBUD     = 0x1245
	liAttrI   = 0x1246
	liAttrD   = 0x1247
	liXMI     = 0x1248
	liXMD     = 0x1249

	transHeaderMagic = 0x5452414e // "TRAN"

	blfInodeBuf = 0x1  // only di_next_unlinked of each inode is logged
	blfCancel   = 0x4  // the buffer was freed
	blfDquotBuf = 0x1a // user, project or group quota buffer
	blfChunk    = 128  // bytes per bit of a buffer's dirty map

	ilogCore   = 0x001
	ilogDData  = 0x002
	ilogDExt   = 0x004
	ilogDBroot = 0x008
	ilogAData  = 0x040
	ilogAExt   = 0x080
	ilogABroot = 0x100

	// maxOverlay bounds the replayed metadata held in memory.
	maxOverlay = 512 << 20
	// maxTransRegions bounds the regions of one open transaction.
	maxTransRegions = 1 << 20
)

// le reads log item formats: Linux writes them in the host's byte order,
// and the x86 and arm64 hosts Hyper-V runs are little-endian. A big-endian
// log is found by its item types and refused.
var le = binary.LittleEndian

// trans is a transaction being assembled from log operations: a list of
// regions, the first being the transaction header.
type trans struct {
	regions [][]byte
	cont    bool // the last region continues in the next operation
}

// replayer collects committed transactions in commit order, then applies
// their buffer and inode items to an overlay of the volume.
type replayer struct {
	v         *FS
	open      map[uint32]*trans
	committed []*trans
	ov        *overlay
	regions   int
	skipped   map[string]int // intents and items not replayed, by kind
}

func newReplayer(v *FS) *replayer {
	return &replayer{v: v, open: map[uint32]*trans{}, ov: newOverlay(), skipped: map[string]int{}}
}

// record parses the operations of one log record's data.
func (rp *replayer) record(d []byte, numOps int) error {
	be := binary.BigEndian
	p := 0
	for i := 0; i < numOps && p < len(d); i++ {
		if p+opHeaderLen > len(d) {
			return formatErr(-1, "log operation header past its record")
		}
		tid, n := be.Uint32(d[p:]), int(be.Uint32(d[p+4:]))
		client, flags := d[p+8], d[p+9]
		p += opHeaderLen
		if n < 0 || n > len(d)-p {
			return formatErr(-1, "log operation of %d bytes past its record", n)
		}
		payload := d[p : p+n]
		p += n
		if client != clientTrans && client != clientLog {
			return formatErr(-1, "log operation of client 0x%x", client)
		}
		if flags&opUnmount != 0 {
			continue
		}
		if err := rp.op(tid, flags, payload); err != nil {
			return err
		}
	}
	return nil
}

func (rp *replayer) op(tid uint32, flags uint8, payload []byte) error {
	t := rp.open[tid]
	if flags&opStartTrans != 0 {
		rp.open[tid] = &trans{}
		return nil
	}
	if t == nil { // the start lies before the tail: already written back
		return nil
	}
	if len(payload) > 0 {
		if rp.regions++; rp.regions > maxTransRegions {
			return kindErr(ErrRange, -1, "more than %d log regions", maxTransRegions)
		}
		if (t.cont || flags&opWasCont != 0) && len(t.regions) > 0 {
			last := &t.regions[len(t.regions)-1]
			*last = append(*last, payload...)
		} else {
			t.regions = append(t.regions, append([]byte(nil), payload...))
		}
	}
	t.cont = flags&opContinue != 0
	if flags&opCommitTrans != 0 {
		rp.committed = append(rp.committed, t)
		delete(rp.open, tid)
	}
	return nil
}

// logItem is one item of a transaction: its format region and data.
type logItem struct {
	typ     uint16
	regions [][]byte
}

// items splits a transaction's regions (after the header) into items by
// the region count each format region declares.
func (t *trans) items() ([]logItem, error) {
	if len(t.regions) == 0 {
		return nil, nil
	}
	if h := t.regions[0]; len(h) < 16 || le.Uint32(h) != transHeaderMagic {
		if len(h) >= 4 && binary.BigEndian.Uint32(h) == transHeaderMagic {
			return nil, kindErr(ErrUnsupported, -1, "log written by a big-endian host")
		}
		return nil, formatErr(-1, "log transaction without a header")
	}
	var out []logItem
	for r := t.regions[1:]; len(r) > 0; {
		if len(r[0]) < 4 {
			return nil, formatErr(-1, "log item format of %d bytes", len(r[0]))
		}
		typ, n := le.Uint16(r[0]), int(le.Uint16(r[0][2:]))
		if n < 1 || n > len(r) {
			return nil, formatErr(-1, "log item 0x%x of %d regions, %d left", typ, n, len(r))
		}
		out = append(out, logItem{typ: typ, regions: r[:n]})
		r = r[n:]
	}
	return out, nil
}

// bufKey names a buffer by its first basic block and length, as the
// kernel's cancel table does.
type bufKey struct {
	blkno int64
	bbs   int32
}

// apply replays the committed transactions: a first pass counts buffer
// cancellations, the second applies items in order, skipping a buffer's
// items until its last cancellation has passed.
func (rp *replayer) apply() (int, error) {
	all := make([][]logItem, len(rp.committed))
	cancels := map[bufKey]int{}
	for i, t := range rp.committed {
		items, err := t.items()
		if err != nil {
			return 0, err
		}
		all[i] = items
		for _, it := range items {
			if it.typ == liBuf {
				if k, flags, ok := bufFormat(it.regions[0]); ok && flags&blfCancel != 0 {
					cancels[k]++
				}
			}
		}
	}
	for _, items := range all {
		for _, it := range items {
			if err := rp.item(it, cancels); err != nil {
				return 0, err
			}
		}
	}
	return len(rp.committed), nil
}

func bufFormat(f []byte) (k bufKey, flags uint16, ok bool) {
	if len(f) < 24 {
		return k, 0, false
	}
	return bufKey{blkno: int64(le.Uint64(f[8:])), bbs: int32(le.Uint16(f[6:]))}, le.Uint16(f[4:]), true
}

func (rp *replayer) item(it logItem, cancels map[bufKey]int) error {
	switch it.typ {
	case liBuf:
		return rp.buffer(it, cancels)
	case liInode:
		return rp.inode(it, cancels)
	case liEFI, liEFD, liRUI, liRUD, liCUI, liCUD, liBUD, liAttrD, liXMD, liDquot, liQuotOff, liICreate:
		// Free-space, reverse-map, refcount and quota intents, done
		// markers and inode chunk creation change nothing a reader sees
		// that a later inode or buffer item does not also carry.
	case liBUI, liAttrI, liXMI:
		rp.skipped[map[uint16]string{liBUI: "file mapping", liAttrI: "attribute", liXMI: "file exchange"}[it.typ]]++
	default:
		return formatErr(-1, "log item of type 0x%x", it.typ)
	}
	return nil
}

// note names the intents left alone: when one was unfinished at the
// crash, the kernel would complete it during recovery.
func (rp *replayer) note() string {
	if len(rp.skipped) == 0 {
		return ""
	}
	var parts []string
	for k, n := range rp.skipped {
		parts = append(parts, fmt.Sprintf("%d %s intents", n, k))
	}
	sort.Strings(parts)
	return "not completed: " + strings.Join(parts, ", ")
}

// buffer replays a buffer item: the dirty map's runs of 128-byte chunks
// are copied, region by region, over the buffer's current content.
func (rp *replayer) buffer(it logItem, cancels map[bufKey]int) error {
	f := it.regions[0]
	k, flags, ok := bufFormat(f)
	if !ok {
		return formatErr(-1, "buffer log format of %d bytes", len(f))
	}
	if flags&blfCancel != 0 {
		if cancels[k]--; cancels[k] <= 0 {
			delete(cancels, k)
		}
		return nil
	}
	if cancels[k] > 0 || flags&(blfInodeBuf|blfDquotBuf) != 0 {
		return nil
	}
	mapWords := int(le.Uint32(f[16:]))
	size := int64(k.bbs) * bbSize
	if k.bbs <= 0 || size > 64<<10 || mapWords < 0 || 20+mapWords*4 > len(f) {
		return formatErr(-1, "buffer log format: %d blocks, %d map words", k.bbs, mapWords)
	}
	off := k.blkno * bbSize
	buf, err := rp.read(off, int(size))
	if err != nil {
		return err
	}
	bit := func(i int) bool { return i < mapWords*32 && le.Uint32(f[20+(i/32)*4:])&(1<<(i%32)) != 0 }
	chunks := int(size / blfChunk)
	r := 1
	for i := 0; i < chunks; {
		if !bit(i) {
			i++
			continue
		}
		j := i
		for j < chunks && bit(j) {
			j++
		}
		if r >= len(it.regions) {
			return formatErr(off, "buffer log item with fewer regions than its dirty map")
		}
		reg := it.regions[r]
		r++
		n := min(len(reg), (j-i)*blfChunk)
		copy(buf[i*blfChunk:], reg[:n])
		i = j
	}
	return rp.write(off, buf)
}

// read gives the current content of a metadata range: replayed or disk.
func (rp *replayer) read(off int64, n int) ([]byte, error) {
	if off < 0 || off+int64(n) > rp.v.end {
		return nil, kindErr(ErrRange, off, "log item for %d bytes outside the filesystem", n)
	}
	buf := make([]byte, n)
	if _, err := rp.v.r.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("xfs: reading for log replay: %w", err)
	}
	rp.ov.apply(buf, off)
	return buf, nil
}

func (rp *replayer) write(off int64, b []byte) error {
	rp.ov.put(off, b)
	if rp.ov.bytes > maxOverlay {
		return kindErr(ErrRange, off, "log replay holds more than %d bytes", maxOverlay)
	}
	return nil
}
