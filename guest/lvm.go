package guest

import (
	"bytes"
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
// partition. Thin, RAID, mirrored, cached and striped volumes, and volumes
// spanning several physical volumes (other disks), are listed with an
// error instead.

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
)

// lvmSegment maps extents [lvStart, lvStart+count) of a logical volume to
// extents from pvStart on the physical volume.
type lvmSegment struct {
	lvStart, count, pvStart int64
}

// lvmVolume is one logical volume of the group.
type lvmVolume struct {
	name string
	segs []lvmSegment // sorted by lvStart, covering [0, extents)
	err  error        // why it cannot be read
}

// lvmGroup is what the physical volume's metadata says.
type lvmGroup struct {
	name       string
	extentSize int64 // bytes
	peStart    int64 // bytes: where extent 0 lies on this physical volume
	volumes    []lvmVolume
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
	at, ok := lvmLabelAt(probe)
	if !ok {
		return nil, formatErr(0, "lvm2: no label")
	}
	label := probe[at : at+lvmSector]
	hdr := int(binary.LittleEndian.Uint32(label[20:]))
	if hdr < 32 || hdr+32+16 > lvmSector {
		return nil, formatErr(int64(at+20), "lvm2: physical volume header at offset %d of the label sector", hdr)
	}
	pv := label[hdr:]
	uuid := string(pv[:32])
	// Two lists of disk locations follow, each ended by a zero entry: data
	// areas, then metadata areas. The label sector holds them.
	var mdas [][2]int64
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
	if len(mdas) == 0 {
		return nil, fmt.Errorf("lvm2: a physical volume without a metadata area: %w", ErrUnsupported)
	}
	text, err := lvmMetadataText(r, size, mdas[0][0], mdas[0][1])
	if err != nil {
		return nil, err
	}
	cfg, err := parseLVMConfig(text)
	if err != nil {
		return nil, fmt.Errorf("lvm2 metadata: %w", err)
	}
	return lvmGroupOf(cfg, uuid)
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
// extents of its logical volumes on the physical volume with this uuid.
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
	g := &lvmGroup{name: name}
	extent, ok := vg.int("extent_size")
	if !ok || extent <= 0 || extent > 1<<25 { // 16 GiB: LVM's own limit is lower
		return nil, formatErr(0, "lvm2: volume group %s: extent size %d sectors", name, extent)
	}
	g.extentSize = extent * lvmSector
	pvName := ""
	pvs := vg.sections["physical_volumes"]
	for _, k := range pvs.order {
		pv := pvs.sections[k]
		if pv == nil || strings.ReplaceAll(pv.str("id"), "-", "") != uuid {
			continue
		}
		start, ok := pv.int("pe_start")
		if !ok || start < 0 || start > 1<<40 {
			return nil, formatErr(0, "lvm2: physical volume %s: pe_start %d", k, start)
		}
		pvName, g.peStart = k, start*lvmSector
	}
	if pvName == "" {
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
		v.segs, v.err = lvmSegments(lv, pvName, &segments)
		g.volumes = append(g.volumes, v)
	}
	return g, nil
}

// lvmSegments returns a linear volume's segments, all on pvName.
func lvmSegments(lv *lvmSection, pvName string, total *int) ([]lvmSegment, error) {
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
		if pv != pvName {
			return nil, fmt.Errorf("extents on physical volume %s, which is another disk: %w", pv, ErrUnsupported)
		}
		segs = append(segs, lvmSegment{lvStart: start, count: count, pvStart: pvStart})
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

// lvmReader reads a logical volume from its physical volume.
type lvmReader struct {
	pv         io.ReaderAt
	pvSize     int64
	extent     int64
	peStart    int64
	segs       []lvmSegment
	size       int64
	contiguous bool // one run of the physical volume
}

func newLVMReader(pv io.ReaderAt, pvSize int64, g *lvmGroup, v lvmVolume) (*lvmReader, error) {
	last := v.segs[len(v.segs)-1]
	r := &lvmReader{pv: pv, pvSize: pvSize, extent: g.extentSize, peStart: g.peStart, segs: v.segs,
		size: (last.lvStart + last.count) * g.extentSize, contiguous: true}
	if g.peStart > pvSize {
		return nil, formatErr(0, "lvm2: extents start at byte %d of a %d-byte physical volume", g.peStart, pvSize)
	}
	// Compared in extents, which cannot overflow: a volume on one physical
	// volume is no larger than it.
	extents := (pvSize - g.peStart) / g.extentSize
	for i, s := range v.segs {
		if s.pvStart > extents || s.count > extents-s.pvStart || s.lvStart+s.count > extents {
			return nil, formatErr(0, "lvm2: volume %s: extents up to %d (volume extent %d) of a physical volume of %d",
				v.name, s.pvStart+s.count, s.lvStart+s.count, extents)
		}
		if i > 0 && s.pvStart != v.segs[i-1].pvStart+v.segs[i-1].count {
			r.contiguous = false
		}
	}
	return r, nil
}

// start is where the volume's first byte lies on the physical volume.
func (r *lvmReader) start() int64 { return r.peStart + r.segs[0].pvStart*r.extent }

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
		m, err := r.pv.ReadAt(chunk, r.peStart+s.pvStart*r.extent+within)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
