package guest

import (
	"fmt"
	"slices"
	"strings"
)

// Volume groups over several disks. An admin grows a Linux VM's root
// filesystem by adding a virtual disk, pvcreate, vgextend and lvextend:
// the root logical volume then has extents on two physical volumes, each
// on its own disk (its own VHDX file). Volumes reads one disk and lists
// such a volume as waiting (lvmRef.pending); JoinVolumeGroups, given the
// volumes of all the disks of one checkpoint, opens it over all of them.

// lvmRef names a logical volume: its group (lvmGroupKey) and its name.
// pending is set while it waits for physical volumes on other disks; meta
// is the copy of the metadata it was opened (or listed) by.
type lvmRef struct {
	group, lv string
	pending   bool
	meta      *lvmGroup
}

// lvmGroupKey is what ties the physical volumes of one group together:
// its UUID (two groups of one name may meet: two cloned guests' disks).
func lvmGroupKey(g *lvmGroup) string {
	if g.id != "" {
		return g.id
	}
	return "name:" + g.name
}

// lvmElsewhere says which physical volumes other than the one read hold
// extents of lv.
func lvmElsewhere(g *lvmGroup, lv lvmVolume) error {
	var names []string
	seen := map[int]bool{}
	for _, s := range lv.segs {
		if s.pv != g.self && !seen[s.pv] {
			seen[s.pv] = true
			names = append(names, g.pvDesc(s.pv))
		}
	}
	return fmt.Errorf("extents also on physical volume %s, on another disk or partition: it is opened with the volumes of all the checkpoint's disks: %w",
		strings.Join(names, ", "), ErrUnsupported)
}

// pvDesc names physical volume i as LVM's tools do: "pv1 (UUID ...)".
func (g *lvmGroup) pvDesc(i int) string {
	return fmt.Sprintf("%s (UUID %s)", g.pvs[i].key, g.pvs[i].id)
}

// lvmJoin is one volume group as the physical volumes found show it.
type lvmJoin struct {
	meta *lvmGroup          // the newest copy of the metadata
	pvs  map[string]*Volume // the physical volumes found, by label UUID
	err  error              // why the group cannot be trusted
	// rivals are the copies of meta's sequence number whose text
	// differs (a damaged or forged copy: LVM writes one text to every
	// physical volume with each commit), conflict names the first. See
	// disputed.
	rivals   []*lvmGroup
	conflict error
}

// disputed says why logical volume lv cannot be trusted: the copies of
// the newest sequence number differ and one of them places it otherwise
// (or lacks it); nil when they all agree on it. What can be proved right
// is read, and only what cannot is refused: one policy with dynamic
// disks (ldm.Group.Disputed).
func (j *lvmJoin) disputed(index lvmIndex, lv string) error {
	for _, r := range j.rivals {
		if !index.sameMapping(r, j.meta, lv) {
			return fmt.Errorf("%w; they place this volume differently", j.conflict)
		}
	}
	return nil
}

// lvmIndex finds logical volumes by name in copies of the metadata,
// each indexed once: a hostile group may list tens of thousands.
type lvmIndex map[*lvmGroup]map[string]int

func (x lvmIndex) find(g *lvmGroup, lv string) (lvmVolume, bool) {
	m := x[g]
	if m == nil {
		m = make(map[string]int, len(g.volumes))
		for i, v := range g.volumes {
			if _, dup := m[v.name]; !dup {
				m[v.name] = i
			}
		}
		x[g] = m
	}
	i, ok := m[lv]
	if !ok {
		return lvmVolume{}, false
	}
	return g.volumes[i], true
}

// sameMapping reports whether two copies of the metadata put lv's
// extents in the same places.
func (x lvmIndex) sameMapping(a, b *lvmGroup, lv string) bool {
	va, okA := x.find(a, lv)
	vb, okB := x.find(b, lv)
	if !okA || !okB || (va.err == nil) != (vb.err == nil) || a.extentSize != b.extentSize || len(va.segs) != len(vb.segs) {
		return false
	}
	for i, s := range va.segs {
		t := vb.segs[i]
		if s.lvStart != t.lvStart || s.count != t.count || s.pvStart != t.pvStart ||
			a.pvs[s.pv].uuid != b.pvs[t.pv].uuid || a.pvs[s.pv].peStart != b.pvs[t.pv].peStart {
			return false
		}
	}
	return true
}

// JoinVolumeGroups opens the LVM logical volumes that lie on several
// physical volumes, with no keys (see Options.JoinVolumeGroups).
func JoinVolumeGroups(vols []*Volume) []*Volume {
	return (*Options)(nil).JoinVolumeGroups(vols)
}

// JoinVolumeGroups takes the volumes of all the disks of one checkpoint
// (each disk's Volumes, concatenated in disk order) and opens the LVM
// logical volumes whose extents lie on several physical volumes (several
// disks, or several partitions of one). It returns vols with each such
// volume, which Volumes listed as waiting, replaced by the opened one and
// what lies inside it; a logical volume whose first physical volume is
// missing is added beside another of its group. The physical volumes of
// a group are found by the group's UUID; of their copies of the metadata
// the one of the highest sequence number is followed; when two copies of
// that number differ, a volume they place differently (or one lacks) is
// an error, whichever disks it lies on, and the others are read (see
// lvmJoin.disputed). A volume with extents on a physical volume that is in none of
// vols is listed with an error wrapping ErrMissingPV naming it. A volume
// of one physical volume, opened by Volumes, is left as it is unless its
// physical volume's copy of the metadata is older than the newest and
// puts it elsewhere: it is then opened again (what was found in it is
// dropped). Calling it again on its result changes nothing.
//
// The volumes of Windows dynamic disks are joined the same way (see
// joinDynamic): a volume with extents on several disks, listed as
// waiting by Volumes, is opened over the disks of its group found in
// vols; one with an extent on a disk none of vols holds is listed with an
// error wrapping ErrMissingPV that names the disk.
//
// The devices of a btrfs filesystem over several volumes (btrfsjoin.go)
// are opened together, once, in the volume of the first of them (in
// vols' order); the others say in Purpose that they are its devices, and
// missing devices are named in its Warning.
func (o *Options) JoinVolumeGroups(vols []*Volume) []*Volume {
	return o.joinBtrfs(o.joinDynamic(o.joinLVM(vols)))
}

// joinLVM is JoinVolumeGroups for LVM.
func (o *Options) joinLVM(vols []*Volume) []*Volume {
	groups := map[string]*lvmJoin{}
	var order []string
	bare := map[string]*Volume{} // physical volumes without metadata, by UUID
	for _, v := range vols {
		if v.FSType != fsLVM2 || v.lvm == nil {
			continue
		}
		g := v.lvm
		if g.noMeta {
			bare[g.pvs[0].uuid] = v
			continue
		}
		key := lvmGroupKey(g)
		j := groups[key]
		if j == nil {
			j = &lvmJoin{pvs: map[string]*Volume{}}
			groups[key] = j
			order = append(order, key)
		}
		uuid := g.pvs[g.self].uuid
		if other := j.pvs[uuid]; other != nil && other != v {
			// A cloned disk attached beside its original: LVM itself
			// refuses to choose.
			j.err = fmt.Errorf("physical volume %s of volume group %s is both %s and %s: %w",
				g.pvs[g.self].id, g.name, other.Name, v.Name, ErrUnsupported)
		}
		j.pvs[uuid] = v
		switch {
		case j.meta == nil || g.seqno > j.meta.seqno:
			j.meta, j.rivals, j.conflict = g, nil, nil
		case g.seqno == j.meta.seqno && g.text != j.meta.text:
			j.rivals = append(j.rivals, g)
			if j.conflict == nil {
				j.conflict = formatErr(0, "lvm2: volume group %s: physical volumes %s and %s hold different metadata of sequence number %d",
					g.name, j.pvs[j.meta.pvs[j.meta.self].uuid].Name, v.Name, g.seqno)
			}
		}
	}
	if len(groups) == 0 {
		return vols
	}
	for _, j := range groups {
		for _, p := range j.meta.pvs {
			if v := bare[p.uuid]; v != nil && j.pvs[p.uuid] == nil {
				j.pvs[p.uuid] = v
			}
		}
	}
	listed := map[lvmRef]bool{}
	for _, v := range vols {
		if r := v.lvmLV; r != nil {
			listed[lvmRef{group: r.group, lv: r.lv}] = true
		}
	}
	index := lvmIndex{}
	dropped := map[*Volume]bool{}
	out := make([]*Volume, 0, len(vols))
	for _, v := range vols {
		if droppedWith(v, dropped) {
			continue // found in a volume opened again
		}
		r := v.lvmLV
		j := (*lvmJoin)(nil)
		if r != nil {
			j = groups[r.group]
		}
		switch {
		case j == nil:
		case j.err == nil && !r.pending && j.disputed(index, r.lv) != nil:
			// Opened from its own disk's copy, which another copy of
			// the same sequence number contradicts.
			dropped[v] = true
			out = append(out, refusedLV(v, j.disputed(index, r.lv)))
			continue
		case r.pending:
			out = append(out, j.open(v, r.lv, index, o)...)
			continue
		case j.err == nil && r.meta != nil && r.meta != j.meta && !index.sameMapping(r.meta, j.meta, r.lv):
			// Opened by an older copy of the metadata that put it
			// elsewhere (a commit cut short, or copies LVM was told
			// to ignore).
			dropped[v] = true
			out = append(out, j.open(v, r.lv, index, o)...)
			continue
		}
		out = append(out, v)
	}
	// Volumes no physical volume found lists: their first extent is on
	// a missing one (or on one whose older metadata lacks them).
	added := map[*Volume][]*Volume{}
	var besides []*Volume
	for _, key := range order {
		j := groups[key]
		if j.err != nil {
			continue
		}
		for _, lv := range j.meta.volumes {
			if listed[lvmRef{group: key, lv: lv.name}] {
				continue
			}
			beside := j.pvs[j.meta.pvs[lv.home].uuid]
			if beside == nil {
				beside = j.present()
			}
			v := newLogicalVolume(beside, j.meta, lv.name)
			v.lvmLV.pending = true
			if added[beside] == nil {
				besides = append(besides, beside)
			}
			added[beside] = append(added[beside], j.open(v, lv.name, index, o)...)
		}
	}
	for _, pv := range besides {
		out = insertAfterDisk(out, pv, added[pv])
	}
	return out
}

// refusedLV is v, a logical volume opened by Volumes, left unread with
// the reason.
func refusedLV(v *Volume, err error) *Volume {
	d := *v
	d.Reader, d.FS, d.FSType, d.Label, d.Journal = nil, nil, fsUnknown, "", ""
	d.Err = fmt.Errorf("%s: lvm2 volume %s: %w", v.Name, v.PartName, err)
	return &d
}

// droppedWith reports whether v was found in (or beside) a volume of
// dropped, however deep.
func droppedWith(v *Volume, dropped map[*Volume]bool) bool {
	if len(dropped) == 0 {
		return false
	}
	for p := v.inside; p != nil; p = p.inside {
		if dropped[p] {
			return true
		}
	}
	return false
}

// present is the first physical volume of the group, in the metadata's
// order, that was found.
func (j *lvmJoin) present() *Volume {
	for _, p := range j.meta.pvs {
		if v := j.pvs[p.uuid]; v != nil {
			return v
		}
	}
	return nil // unreachable: the newest copy was read from one
}

// open replaces the waiting volume w, logical volume lv of the group: by
// the opened volume and what lies in it, or by w with the reason it
// still cannot be opened.
func (j *lvmJoin) open(w *Volume, lv string, index lvmIndex, o *Options) []*Volume {
	v := *w
	v.lvmLV = &lvmRef{group: w.lvmLV.group, lv: lv, pending: true, meta: j.meta}
	fail := func(err error) []*Volume {
		v.Err = fmt.Errorf("%s: lvm2 volume %s: %w", v.Name, v.PartName, err)
		return []*Volume{&v}
	}
	if j.err != nil {
		return fail(j.err)
	}
	if err := j.disputed(index, lv); err != nil {
		return fail(err)
	}
	g := j.meta
	l, ok := index.find(g, lv)
	if !ok {
		return fail(formatErr(0, "lvm2: not in the group's newest metadata (sequence number %d)", g.seqno))
	}
	if l.err != nil {
		return fail(l.err)
	}
	pvs := map[int]lvmExtents{}
	var missing []string
	seen := map[int]bool{}
	for _, s := range l.segs {
		p := g.pvs[s.pv]
		pv := j.pvs[p.uuid]
		if pv == nil || pv.Reader == nil {
			if !seen[s.pv] {
				seen[s.pv] = true
				missing = append(missing, g.pvDesc(s.pv))
			}
			continue
		}
		pvs[s.pv] = lvmExtents{r: pv.Reader, size: pv.Size, peStart: p.peStart, vol: pv}
	}
	if len(missing) > 0 {
		return fail(fmt.Errorf("extents on physical volume %s, on none of the disks given: %w", strings.Join(missing, ", "), ErrMissingPV))
	}
	home := j.pvs[g.pvs[l.segs[0].pv].uuid]
	v.Err, v.FS, v.FSType, v.Label, v.Journal = nil, nil, fsUnknown, "", ""
	v.lvmLV.pending = false
	v.lvmDepth = home.lvmDepth + 1
	return append([]*Volume{&v}, openLogicalVolume(&v, home, pvs, g, l, o)...)
}

// insertAfterDisk inserts more after the last volume of pv's disk that
// follows pv, so that each disk's volumes stay together.
func insertAfterDisk(vols []*Volume, pv *Volume, more []*Volume) []*Volume {
	at := len(vols)
	for i, v := range vols {
		if v == pv {
			at = i + 1
			for at < len(vols) && vols[at].disk == pv.disk {
				at++
			}
			break
		}
	}
	return slices.Insert(vols, at, more...)
}
