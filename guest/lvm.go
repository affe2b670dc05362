package guest

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"
)

// LVM2 physical volumes. Ubuntu Server and RHEL put their root filesystem
// in an LVM logical volume by default, so a Linux guest's files are only
// reachable through it. A partition (or a whole disk) that carries an LVM2
// label is read as a physical volume: its current metadata text names the
// volume group and its logical volumes, and each linear logical volume
// whose extents all lie on this physical volume is opened like a
// partition. A volume that also has extents on other physical volumes
// (an admin who grew the guest added a disk, vgextend, lvextend) is
// listed as waiting for them; JoinVolumeGroups (lvmjoin.go) opens it once
// the volumes of all the checkpoint's disks are known. Thin, RAID,
// mirrored, cached and striped volumes are listed with an error.

const (
	fsLVM2 = "lvm2"

	lvmLabelID  = "LABELONE"
	lvmLabelTyp = "LVM2 001"
	lvmMDAMagic = " LVM2 x[5A%r0N*>"
	lvmSector   = 512
	// lvmMaxText bounds the metadata text read: a group of hundreds of
	// volumes takes some tens of KiB.
	lvmMaxText = 4 << 20
	// lvmMaxSegments bounds the segments of all volumes together.
	lvmMaxSegments = 1 << 16
	// lvmMaxPVs bounds the physical volumes of a group: real groups have
	// a handful, a VM's at most one per virtual disk.
	lvmMaxPVs = 1 << 12
)

// lvmSegment maps extents [lvStart, lvStart+count) of a logical volume to
// extents from pvStart on physical volume pv (an index in lvmGroup.pvs).
type lvmSegment struct {
	lvStart, count, pvStart int64
	pv                      int
}

// lvmVolume is one logical volume of the group.
type lvmVolume struct {
	name string
	// home is the physical volume (index in lvmGroup.pvs) whose volume
	// lists this one: the one holding its first extent, or for a volume
	// we cannot read the first one its metadata names (0 when none).
	// Every physical volume's metadata lists every logical volume of the
	// group; each is shown once, beside its home.
	home int
	segs []lvmSegment // sorted by lvStart, covering [0, extents)
	err  error        // why it cannot be read
}

// lvmPV is one physical volume the group's metadata lists.
type lvmPV struct {
	key     string // its section name in the metadata: "pv0"
	id      string // its UUID as the metadata writes it (with dashes)
	uuid    string // the UUID as its label holds it (no dashes)
	peStart int64  // bytes: where extent 0 lies on it
}

// lvmGroup is what one physical volume's copy of the metadata says.
type lvmGroup struct {
	name       string
	id         string // the group's UUID: what ties its physical volumes together
	seqno      int64  // the metadata's version: the highest is current
	text       [sha256.Size]byte
	extentSize int64 // bytes
	pvs        []lvmPV
	self       int // the index of the physical volume this copy was read from
	volumes    []lvmVolume
	// noMeta is set for a physical volume without a metadata area: only
	// pvs[0].uuid is known.
	noMeta bool
}

// onSelf reports whether all of v's extents lie on the physical volume
// the metadata was read from.
func (g *lvmGroup) onSelf(v lvmVolume) bool {
	for _, s := range v.segs {
		if s.pv != g.self {
			return false
		}
	}
	return true
}

// hasLVMLabel reports whether one of the first four sectors carries an
// LVM2 label, as blkid looks for it.
func hasLVMLabel(probe []byte) bool {
	_, ok := lvmLabelAt(probe)
	return ok
}

func lvmLabelAt(probe []byte) (int, bool) {
	for s := 0; s < 4 && (s+1)*lvmSector <= len(probe); s++ {
		b := probe[s*lvmSector:]
		if string(b[:8]) == lvmLabelID && string(b[24:32]) == lvmLabelTyp {
			return s * lvmSector, true
		}
	}
	return 0, false
}

// readLVM reads the group from the physical volume in r (size bytes),
// whose first bytes are probe.
func readLVM(r io.ReaderAt, size int64, probe []byte) (*lvmGroup, error) {
	uuid, mdas, err := lvmLabel(probe)
	if err != nil {
		return nil, err
	}
	if len(mdas) == 0 {
		// pvcreate --metadatacopies 0: the group's metadata is on its
		// other physical volumes, which say where this one's extents
		// start (JoinVolumeGroups).
		return &lvmGroup{noMeta: true, pvs: []lvmPV{{uuid: uuid}}}, nil
	}
	// The first metadata area that reads is used; a second one (pvcreate
	// --metadatacopies 2 puts it at the end) stands in for a damaged
	// first. check lists a damaged or differing copy (lvmCopies).
	var first error
	for _, m := range mdas {
		text, err := lvmMetadataText(r, size, m[0], m[1])
		if err != nil {
			first = cmp.Or(first, err)
			continue
		}
		g, err := lvmGroupFromText(text, uuid)
		if err != nil {
			first = cmp.Or(first, err)
			continue
		}
		return g, nil
	}
	return nil, first
}

// lvmLabel reads the physical volume's label in probe: its UUID (as the
// label holds it) and its metadata areas (offset and size in bytes).
func lvmLabel(probe []byte) (uuid string, mdas [][2]int64, err error) {
	at, ok := lvmLabelAt(probe)
	if !ok {
		return "", nil, formatErr(0, "lvm2: no label")
	}
	label := probe[at : at+lvmSector]
	hdr := int(binary.LittleEndian.Uint32(label[20:]))
	if hdr < 32 || hdr+32+16 > lvmSector {
		return "", nil, formatErr(int64(at+20), "lvm2: physical volume header at offset %d of the label sector", hdr)
	}
	pv := label[hdr:]
	uuid = string(pv[:32])
	// Two lists of disk locations follow, each ended by a zero entry: data
	// areas, then metadata areas. The label sector holds them.
	list := 0
	for off := 40; off+16 <= len(pv); off += 16 {
		o, n := int64(binary.LittleEndian.Uint64(pv[off:])), int64(binary.LittleEndian.Uint64(pv[off+8:]))
		if o == 0 && n == 0 {
			if list++; list == 2 {
				break
			}
			continue
		}
		if list == 1 {
			mdas = append(mdas, [2]int64{o, n})
		}
	}
	return uuid, mdas, nil
}

func lvmGroupFromText(text []byte, uuid string) (*lvmGroup, error) {
	cfg, err := parseLVMConfig(text)
	if err != nil {
		return nil, fmt.Errorf("lvm2 metadata: %w", err)
	}
	g, err := lvmGroupOf(cfg, uuid)
	if err != nil {
		return nil, err
	}
	g.text = sha256.Sum256(text)
	return g, nil
}

// lvmMetadataText reads the newest metadata text of the metadata area at
// mdaOff (mdaSize bytes): a ring buffer after a 512-byte header whose
// first location names the current text.
func lvmMetadataText(r io.ReaderAt, size, mdaOff, mdaSize int64) ([]byte, error) {
	if mdaOff < 0 || mdaSize < 2*lvmSector || mdaOff > size-mdaSize {
		return nil, formatErr(mdaOff, "lvm2: metadata area of %d bytes at %d in a volume of %d", mdaSize, mdaOff, size)
	}
	h := make([]byte, lvmSector)
	if err := readFull(r, size, h, mdaOff); err != nil {
		return nil, fmt.Errorf("lvm2: reading the metadata header: %w", err)
	}
	if string(h[4:20]) != lvmMDAMagic {
		return nil, formatErr(mdaOff+4, "lvm2: metadata area without its magic")
	}
	locOff, locSize := int64(binary.LittleEndian.Uint64(h[40:])), int64(binary.LittleEndian.Uint64(h[48:]))
	ring := mdaSize - lvmSector
	if locSize <= 0 || locSize > min(ring, lvmMaxText) || locOff < lvmSector || locOff >= mdaSize {
		return nil, formatErr(mdaOff+40, "lvm2: metadata text of %d bytes at offset %d of a %d-byte area", locSize, locOff, mdaSize)
	}
	text := make([]byte, locSize)
	first := min(locSize, mdaSize-locOff)
	if err := readFull(r, size, text[:first], mdaOff+locOff); err != nil {
		return nil, fmt.Errorf("lvm2: reading the metadata text: %w", err)
	}
	if first < locSize { // it wraps to the start of the ring
		if err := readFull(r, size, text[first:], mdaOff+lvmSector); err != nil {
			return nil, fmt.Errorf("lvm2: reading the metadata text: %w", err)
		}
	}
	return bytes.TrimRight(text, "\x00"), nil
}

// lvmGroupOf finds the volume group in the parsed metadata and the
// extents of its logical volumes, read from the physical volume with this
// uuid.
func lvmGroupOf(cfg *lvmSection, uuid string) (*lvmGroup, error) {
	var vg *lvmSection
	var name string
	for _, k := range cfg.order {
		if s, ok := cfg.sections[k]; ok && s.sections["physical_volumes"] != nil {
			vg, name = s, k
			break
		}
	}
	if vg == nil {
		return nil, formatErr(0, "lvm2: no volume group in the metadata")
	}
	g := &lvmGroup{name: name, id: vg.str("id"), self: -1}
	g.seqno, _ = vg.int("seqno")
	extent, ok := vg.int("extent_size")
	if !ok || extent <= 0 || extent > 1<<25 { // 16 GiB: LVM's own limit is lower
		return nil, formatErr(0, "lvm2: volume group %s: extent size %d sectors", name, extent)
	}
	g.extentSize = extent * lvmSector
	pvs := vg.sections["physical_volumes"]
	index := map[string]int{}
	for _, k := range pvs.order {
		pv := pvs.sections[k]
		if pv == nil {
			continue
		}
		if len(g.pvs) == lvmMaxPVs {
			return nil, fmt.Errorf("lvm2: volume group %s: more than %d physical volumes: %w", name, lvmMaxPVs, ErrUnsupported)
		}
		start, ok := pv.int("pe_start")
		if !ok || start < 0 || start > 1<<40 {
			return nil, formatErr(0, "lvm2: physical volume %s: pe_start %d", k, start)
		}
		p := lvmPV{key: k, id: pv.str("id"), uuid: strings.ReplaceAll(pv.str("id"), "-", ""), peStart: start * lvmSector}
		if p.uuid == uuid {
			g.self = len(g.pvs)
		}
		index[k] = len(g.pvs)
		g.pvs = append(g.pvs, p)
	}
	if g.self < 0 {
		return nil, formatErr(0, "lvm2: volume group %s does not list this physical volume (%s)", name, uuid)
	}
	lvs := vg.sections["logical_volumes"]
	if lvs == nil {
		return g, nil
	}
	segments := 0
	for _, k := range lvs.order {
		lv := lvs.sections[k]
		if lv == nil {
			continue
		}
		if !lv.hasFlag("status", "VISIBLE") {
			continue // an internal volume (a pool's data, a mirror's log)
		}
		v := lvmVolume{name: k}
		v.segs, v.err = lvmSegments(lv, index, &segments)
		if v.err == nil {
			v.home = v.segs[0].pv
		} else {
			v.home = lvmFirstPV(lv, index)
		}
		g.volumes = append(g.volumes, v)
	}
	return g, nil
}

// lvmSegments returns a linear volume's segments; pvs maps the group's
// physical volume names to their index.
func lvmSegments(lv *lvmSection, pvs map[string]int, total *int) ([]lvmSegment, error) {
	var segs []lvmSegment
	for _, k := range lv.order {
		s := lv.sections[k]
		if s == nil || !strings.HasPrefix(k, "segment") {
			continue
		}
		if *total++; *total > lvmMaxSegments {
			return nil, fmt.Errorf("more than %d segments: %w", lvmMaxSegments, ErrUnsupported)
		}
		typ := s.str("type")
		stripes, _ := s.int("stripe_count")
		if typ != "striped" || stripes != 1 {
			return nil, fmt.Errorf("a %q segment of %d stripes: %w", typ, stripes, ErrUnsupported)
		}
		start, ok1 := s.int("start_extent")
		count, ok2 := s.int("extent_count")
		list := s.list("stripes")
		if !ok1 || !ok2 || start < 0 || count <= 0 || start > 1<<40 || count > 1<<40 || len(list) != 2 {
			return nil, formatErr(0, "lvm2: segment %s: start %d, count %d, %d stripe fields", k, start, count, len(list))
		}
		pv, _ := list[0].(string)
		pvStart, ok := list[1].(int64)
		if !ok || pvStart < 0 || pvStart > 1<<40 {
			return nil, formatErr(0, "lvm2: segment %s: stripe at extent %v", k, list[1])
		}
		i, ok := pvs[pv]
		if !ok {
			return nil, formatErr(0, "lvm2: segment %s: physical volume %q, which the group does not list", k, pv)
		}
		segs = append(segs, lvmSegment{lvStart: start, count: count, pvStart: pvStart, pv: i})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].lvStart < segs[j].lvStart })
	next := int64(0)
	for _, s := range segs {
		if s.lvStart != next {
			return nil, formatErr(0, "lvm2: segments leave extent %d unmapped", next)
		}
		next += s.count
	}
	if next == 0 {
		return nil, formatErr(0, "lvm2: a volume of no extents")
	}
	return segs, nil
}

// lvmFirstPV is the physical volume a volume we cannot read is listed
// beside: the first one its lowest segment names in any list (stripes,
// mirrors, raid images live on their own hidden volumes and name none).
func lvmFirstPV(lv *lvmSection, pvs map[string]int) int {
	best, home := int64(-1), 0
	for _, k := range lv.order {
		s := lv.sections[k]
		if s == nil || !strings.HasPrefix(k, "segment") {
			continue
		}
		start, ok := s.int("start_extent")
		if !ok || best >= 0 && start >= best {
			continue
		}
		if list := s.list("stripes"); len(list) > 0 {
			if name, ok := list[0].(string); ok {
				if i, ok := pvs[name]; ok {
					best, home = start, i
				}
			}
		}
	}
	return home
}

// lvmExtents is one physical volume's bytes as a logical volume reads
// them.
type lvmExtents struct {
	r       io.ReaderAt
	size    int64
	peStart int64
	vol     *Volume // the physical volume r reads (DiskRuns)
}

// lvmReader reads a logical volume from its physical volumes.
type lvmReader struct {
	pvs        []lvmExtents
	extent     int64
	segs       []lvmSegment
	size       int64
	contiguous bool // one run of one physical volume
}

// newLVMReader checks that v's segments lie within the physical volumes
// pvs (by their index in g.pvs; all of v's present) and reads v through
// them. The reader keeps only the physical volumes v uses, numbered
// anew: a group may list thousands.
func newLVMReader(pvs map[int]lvmExtents, g *lvmGroup, v lvmVolume) (*lvmReader, error) {
	r := &lvmReader{extent: g.extentSize, segs: make([]lvmSegment, len(v.segs)), contiguous: true}
	local := map[int]int{}
	for i, s := range v.segs {
		pv, ok := pvs[s.pv]
		if !ok || pv.r == nil {
			return nil, fmt.Errorf("lvm2: volume %s: physical volume %s is not there: %w", v.name, g.pvDesc(s.pv), ErrMissingPV)
		}
		if pv.peStart > pv.size {
			return nil, formatErr(0, "lvm2: extents start at byte %d of a %d-byte physical volume", pv.peStart, pv.size)
		}
		// Compared in extents, which cannot overflow.
		extents := (pv.size - pv.peStart) / g.extentSize
		if s.pvStart > extents || s.count > extents-s.pvStart {
			return nil, formatErr(0, "lvm2: volume %s: extents up to %d (volume extent %d) of a physical volume of %d",
				v.name, s.pvStart+s.count, s.lvStart+s.count, extents)
		}
		// Each segment is no larger than its physical volume, but many
		// segments may map the same extents again: the sum is bounded
		// by hand.
		if s.count > (1<<62-r.size)/g.extentSize {
			return nil, formatErr(0, "lvm2: volume %s: larger than 4 EiB", v.name)
		}
		r.size += s.count * g.extentSize
		if i > 0 && (s.pv != v.segs[i-1].pv || s.pvStart != v.segs[i-1].pvStart+v.segs[i-1].count) {
			r.contiguous = false
		}
		n, ok := local[s.pv]
		if !ok {
			n = len(r.pvs)
			local[s.pv] = n
			r.pvs = append(r.pvs, pv)
		}
		r.segs[i] = s
		r.segs[i].pv = n
	}
	return r, nil
}

// start is where the volume's first byte lies on its first physical
// volume.
func (r *lvmReader) start() int64 {
	s := r.segs[0]
	return r.pvs[s.pv].peStart + s.pvStart*r.extent
}

// ReadAt reads the volume's bytes segment by segment.
func (r *lvmReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("lvm2: negative offset %d", off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= r.size {
			return n, io.EOF
		}
		i := sort.Search(len(r.segs), func(i int) bool { return (r.segs[i].lvStart+r.segs[i].count)*r.extent > pos })
		s := r.segs[i]
		within := pos - s.lvStart*r.extent
		chunk := p[n:min(int64(len(p)), int64(n)+s.count*r.extent-within)]
		pv := r.pvs[s.pv]
		m, err := pv.r.ReadAt(chunk, pv.peStart+s.pvStart*r.extent+within)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
