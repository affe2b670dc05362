package ldm

import (
	"cmp"
	"slices"
)

// partKey names one partition of the database by where it lies.
type partKey struct {
	disk, name  string
	start, size int64
}

func keyOf(e Extent) partKey { return partKey{e.DiskGUID, e.Name, e.Start, e.Size} }

// overlaps finds the partitions of db that share bytes of their disk with
// another partition (of another volume, another plex of a mirror, or the
// same plex), and says for each which one. Windows never lays two
// partitions over each other: a volume read through such a partition would
// serve another volume's bytes as its own, so Open refuses both. It sorts
// each disk's partitions once (a database holds at most maxRecords).
func overlaps(db *Database) map[partKey]string {
	type span struct {
		key partKey
		vol string
	}
	var spans []span
	for _, v := range db.volumes {
		for _, p := range v.Plexes {
			for _, e := range p.Extents {
				if e.Size > 0 {
					spans = append(spans, span{keyOf(e), v.Name})
				}
			}
		}
	}
	slices.SortFunc(spans, func(a, b span) int {
		return cmp.Or(cmp.Compare(a.key.disk, b.key.disk), cmp.Compare(a.key.start, b.key.start))
	})
	out := map[partKey]string{}
	var reach span // the span reaching furthest on the disk so far
	for i, s := range spans {
		if i > 0 && s.key.disk == reach.key.disk && s.key.start < reach.key.start+reach.key.size {
			out[s.key] = "partition " + reach.key.name + " of volume " + reach.vol
			if _, ok := out[reach.key]; !ok {
				out[reach.key] = "partition " + s.key.name + " of volume " + s.vol
			}
		}
		if i == 0 || s.key.disk != reach.key.disk || s.key.start+s.key.size > reach.key.start+reach.key.size {
			reach = s
		}
	}
	return out
}

// sameRecords reports whether two copies of a database hold the same
// group and records (in any slot order).
func sameRecords(a, b *Database) bool {
	return a.GroupID == b.GroupID && a.GroupName == b.GroupName && a.GroupGUID == b.GroupGUID &&
		sameByID(a.Disks, b.Disks, func(r DiskRecord) uint64 { return r.ID }) &&
		sameByID(a.Volumes, b.Volumes, func(r VolumeRecord) uint64 { return r.ID }) &&
		sameByID(a.Components, b.Components, func(r ComponentRecord) uint64 { return r.ID }) &&
		sameByID(a.Partitions, b.Partitions, func(r PartitionRecord) uint64 { return r.ID })
}

func sameByID[T comparable](a, b []T, id func(T) uint64) bool {
	if len(a) != len(b) {
		return false
	}
	byID := func(x, y T) int { return cmp.Compare(id(x), id(y)) }
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, byID)
	slices.SortFunc(b, byID)
	return slices.Equal(a, b)
}
