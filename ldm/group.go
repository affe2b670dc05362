package ldm

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
)

// Group is a disk group: the dynamic disks of one computer, each holding
// a copy of the same database. A volume may lie on several of them.
type Group struct {
	GUID string
	Name string
	// DB is the copy of the database of the highest committed sequence
	// number among the disks given: a disk that was offline while
	// Windows changed the group holds an older one.
	DB    *Database
	disks map[string]*Disk // by GUID
	order []*Disk
	// overlapping holds the partitions sharing disk bytes with another
	// (see overlaps), and that other.
	overlapping map[partKey]string
	// rivals are the disks' copies of DB's sequence number that hold
	// other records (see Disputed); conflict names the first two disks.
	rivals   []*Database
	conflict error
}

// NewGroup joins disks of one group (NewDisk's results); not every disk
// of the group need be there, but every disk given must be of the same
// group and given once. Disks whose databases have the same sequence
// number should hold the same records (Windows writes one database to
// every disk with each commit); when they do not, which copy is the
// group's cannot be told, and Open refuses each volume the copies
// describe differently (Disputed). Open refuses a volume with a
// partition sharing disk bytes with another partition.
func NewGroup(disks ...*Disk) (*Group, error) {
	if len(disks) == 0 {
		return nil, fmt.Errorf("ldm: a group of no disks")
	}
	g := &Group{GUID: disks[0].GroupGUID, disks: map[string]*Disk{}}
	for _, d := range disks {
		if d.GroupGUID != g.GUID {
			return nil, fmt.Errorf("ldm: disk %s is of group %s, not %s", d.GUID, d.GroupGUID, g.GUID)
		}
		if o := g.disks[d.GUID]; o != nil {
			if o == d {
				continue
			}
			// A copy of a disk given beside it (a cloned image): which
			// one holds the volumes cannot be told.
			return nil, fmt.Errorf("ldm: disk %s of group %s is given twice: %w", d.GUID, g.GUID, ErrUnsupported)
		}
		g.disks[d.GUID] = d
		g.order = append(g.order, d)
		if g.DB == nil || d.DB.Seq > g.DB.Seq {
			g.DB = d.DB
		}
	}
	for _, d := range g.order {
		if d.DB != g.DB && d.DB.Seq == g.DB.Seq && !sameRecords(d.DB, g.DB) {
			g.rivals = append(g.rivals, d.DB)
			if g.conflict == nil {
				first := g.order[slices.IndexFunc(g.order, func(o *Disk) bool { return o.DB == g.DB })]
				g.conflict = formatErr(-1, "disks %s and %s of group %s hold different databases of sequence number %d",
					first.Name, d.Name, g.GUID, g.DB.Seq)
			}
		}
	}
	g.Name = g.DB.GroupName
	g.overlapping = overlaps(g.DB)
	return g, nil
}

// Disputed says why the volume of this name cannot be trusted: the
// disks' databases of the group's sequence number differ (see NewGroup)
// and one of them describes it otherwise, or lacks it (an error wrapping
// ErrFormat naming the disks); nil when every copy describes it alike,
// its plexes and extents in the same places. What the copies agree on
// is proved whatever the conflict; what they do not, no copy can prove.
func (g *Group) Disputed(name string) error {
	if g.conflict == nil {
		return nil
	}
	want := findVolume(g.DB, name)
	for _, r := range g.rivals {
		if got := findVolume(r, name); want == nil || got == nil || !reflect.DeepEqual(*want, *got) {
			return fmt.Errorf("%w, which describe volume %s otherwise: which is right cannot be told", g.conflict, name)
		}
	}
	return nil
}

func findVolume(db *Database, name string) *Volume {
	for _, v := range db.volumes {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Volumes returns the group's volumes, in the database's order.
func (g *Group) Volumes() []*Volume { return g.DB.volumes }

// Disk returns the disk of the group with this GUID, or nil when it was
// not given.
func (g *Group) Disk(guid string) *Disk { return g.disks[guid] }

// Missing returns the disks the database lists that were not given.
func (g *Group) Missing() []DiskRecord {
	var out []DiskRecord
	for _, r := range g.DB.Disks {
		if g.disks[r.GUID] == nil {
			out = append(out, r)
		}
	}
	return out
}

// Stale returns the disks given whose copy of the database is older than
// the group's (DB).
func (g *Group) Stale() []*Disk {
	var out []*Disk
	for _, d := range g.order {
		if d.DB.Seq < g.DB.Seq {
			out = append(out, d)
		}
	}
	return out
}

// Open returns a reader of v's bytes (v one of g's Volumes) from the
// disks given. An extent on a disk not given makes an error wrapping
// ErrMissingDisk that names the disk; a mirror is read from its first
// active plex whose disks are all there (else from another plex), a RAID-5 volume with one disk missing
// from the others and their parity.
func (g *Group) Open(v *Volume) (*Reader, error) {
	if err := g.Disputed(v.Name); err != nil {
		return nil, err
	}
	switch v.Type {
	case RAID5:
		return g.raid5(v)
	case Striped:
		return g.striped(v)
	}
	if len(v.Plexes) == 0 {
		return nil, formatErr(-1, "volume %s has no plex", v.Name)
	}
	// A plex Windows does not call ACTIVE (one being resynchronised,
	// or left behind while its disk was away) is read only when no
	// active one can be.
	plexes := make([]Plex, 0, len(v.Plexes))
	for _, active := range []bool{true, false} {
		for _, p := range v.Plexes {
			if (p.State == "ACTIVE") == active {
				plexes = append(plexes, p)
			}
		}
	}
	var first error
	for _, p := range plexes {
		r, err := g.concat(v, p)
		if err == nil {
			return r, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// piece is one extent of a volume, placed on its disk.
type piece struct {
	disk   *Disk
	at     int64 // byte offset on the disk
	volOff int64
	size   int64
}

// place finds extent e on its disk, checking that it lies in the disk's
// data area.
func (g *Group) place(v *Volume, e Extent) (piece, error) {
	d := g.disks[e.DiskGUID]
	if d == nil {
		return piece{}, fmt.Errorf("ldm: volume %s: partition %s lies on disk %s (GUID %s), which was not given: %w",
			v.Name, e.Name, e.Disk, e.DiskGUID, ErrMissingDisk)
	}
	if e.Start > d.DataSize || e.Size > d.DataSize-e.Start {
		return piece{}, formatErr(-1, "volume %s: partition %s of %d bytes at byte %d of disk %s's %d-byte data area",
			v.Name, e.Name, e.Size, e.Start, e.Disk, d.DataSize)
	}
	if other, ok := g.overlapping[keyOf(e)]; ok {
		return piece{}, formatErr(-1, "volume %s: partition %s (%d bytes at byte %d of disk %s's data area) overlaps %s",
			v.Name, e.Name, e.Size, e.Start, e.Disk, other)
	}
	return piece{disk: d, at: d.DataStart + e.Start, volOff: e.VolumeOffset, size: e.Size}, nil
}

// concat reads plex p of v: its extents one after the other, each where
// its volume offset says (they must follow on without gap or overlap).
func (g *Group) concat(v *Volume, p Plex) (*Reader, error) {
	r := &Reader{name: v.Name}
	for _, e := range p.Extents {
		pc, err := g.place(v, e)
		if err != nil {
			return nil, err
		}
		if pc.volOff != r.size {
			return nil, formatErr(-1, "volume %s: partition %s at volume offset %d, where %d was expected", v.Name, e.Name, pc.volOff, r.size)
		}
		r.pieces = append(r.pieces, pc)
		r.size += pc.size
	}
	if r.size == 0 {
		return nil, formatErr(-1, "volume %s: a plex of no bytes", v.Name)
	}
	if v.Type == Mirrored && v.Size < r.size {
		// A mirror is its record's size (ldmtool's raid1 device is),
		// which its plexes may exceed.
		r.size = v.Size
	}
	return r, nil
}

// striped reads a striped volume: chunk i of the volume is chunk i/n of
// column i%n.
func (g *Group) striped(v *Volume) (*Reader, error) {
	p := v.Plexes[0]
	n := int64(len(p.Extents))
	if n == 0 || v.ChunkSize <= 0 {
		return nil, formatErr(-1, "volume %s: %d columns of %d-byte chunks", v.Name, n, v.ChunkSize)
	}
	// The device-mapper's conditions: the columns share the volume
	// evenly, in whole chunks.
	if v.Size <= 0 || v.Size%n != 0 || v.Size/n%v.ChunkSize != 0 {
		return nil, formatErr(-1, "volume %s: %d bytes over %d columns of %d-byte chunks", v.Name, v.Size, n, v.ChunkSize)
	}
	r := &Reader{name: v.Name, size: v.Size, chunk: v.ChunkSize}
	for _, e := range p.Extents {
		pc, err := g.place(v, e)
		if err != nil {
			return nil, err
		}
		if pc.size < v.Size/n {
			return nil, formatErr(-1, "volume %s: column %s of %d bytes, %d needed", v.Name, e.Name, pc.size, v.Size/n)
		}
		r.pieces = append(r.pieces, pc)
	}
	return r, nil
}

// raid5 reads a RAID-5 volume: its columns hold chunks in turn, one
// chunk of each row being the parity (the XOR) of the others, on a
// column that moves back by one each row; the data chunks of a row start
// on the column after the parity and wrap around (the device-mapper's
// raid5_ls, "left symmetric", which libldm uses for Windows' RAID-5). A
// column on a disk not given is rebuilt from the others and the parity;
// two are too many.
func (g *Group) raid5(v *Volume) (*Reader, error) {
	p := v.Plexes[0]
	n := int64(len(p.Extents))
	if n < 3 || v.ChunkSize <= 0 {
		return nil, formatErr(-1, "volume %s: RAID-5 of %d columns of %d-byte chunks", v.Name, n, v.ChunkSize)
	}
	if v.Size <= 0 || v.Size%(n-1) != 0 || v.Size/(n-1)%v.ChunkSize != 0 {
		return nil, formatErr(-1, "volume %s: %d bytes over %d RAID-5 columns of %d-byte chunks", v.Name, v.Size, n, v.ChunkSize)
	}
	r := &Reader{name: v.Name, size: v.Size, chunk: v.ChunkSize, raid5: true, missing: -1}
	var lost []error
	for i, e := range p.Extents {
		pc, err := g.place(v, e)
		if errors.Is(err, ErrMissingDisk) {
			lost = append(lost, err)
			r.missing = i
			r.pieces = append(r.pieces, piece{size: v.Size / (n - 1)})
			continue
		}
		if err != nil {
			return nil, err
		}
		if pc.size < v.Size/(n-1) {
			return nil, formatErr(-1, "volume %s: column %s of %d bytes, %d needed", v.Name, e.Name, pc.size, v.Size/(n-1))
		}
		r.pieces = append(r.pieces, pc)
	}
	if len(lost) > 1 {
		return nil, fmt.Errorf("ldm: volume %s: %d of its RAID-5 columns are missing, one can be rebuilt: %w", v.Name, len(lost), errors.Join(lost...))
	}
	return r, nil
}

// Reader reads a volume's bytes from its disks.
type Reader struct {
	name   string
	size   int64
	chunk  int64 // striped and RAID-5: the chunk size; 0 for concatenated pieces
	pieces []piece
	raid5  bool
	// missing is the RAID-5 column whose disk was not given (-1: none):
	// its chunks are rebuilt from the others.
	missing int
}

// Size is the volume's size in bytes.
func (r *Reader) Size() int64 { return r.size }

// Start returns the disk holding the volume's first byte and that byte's
// offset on it (for a RAID-5 volume, where its first present column
// starts).
func (r *Reader) Start() (*Disk, int64) {
	if r.raid5 {
		pc, at, _ := r.locate(0)
		if pc.disk == nil {
			pc = r.pieces[(r.missing+1)%len(r.pieces)]
			at = pc.at
		}
		return pc.disk, at
	}
	return r.pieces[0].disk, r.pieces[0].at
}

// Contiguous reports whether the volume is one run of one disk's bytes
// (from Start): a simple volume, or extents that follow each other.
func (r *Reader) Contiguous() bool {
	if r.raid5 || r.chunk > 0 && len(r.pieces) > 1 {
		return false
	}
	for i := 1; i < len(r.pieces); i++ {
		p, q := r.pieces[i-1], r.pieces[i]
		if p.disk != q.disk || p.at+p.size != q.at {
			return false
		}
	}
	return true
}

// ReadAt reads the volume's bytes at off.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("ldm: volume %s: negative offset %d", r.name, off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= r.size {
			return n, io.EOF
		}
		pc, at, run := r.locate(pos)
		chunk := p[n:min(int64(len(p)), int64(n)+min(run, r.size-pos))]
		if pc.disk == nil {
			if err := r.rebuild(chunk, at-pc.at); err != nil {
				return n, err
			}
			n += len(chunk)
			continue
		}
		m, err := pc.disk.r.ReadAt(chunk, at)
		n += m
		if err != nil {
			if err == io.EOF && m == len(chunk) {
				continue
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
	}
	return n, nil
}

// locate returns the piece holding volume byte pos, its offset on the
// disk, and how many bytes from there the piece holds in a row.
func (r *Reader) locate(pos int64) (piece, int64, int64) {
	if r.raid5 {
		n := int64(len(r.pieces))
		c := pos / r.chunk
		row, k := c/(n-1), c%(n-1)
		parity := n - 1 - row%n
		pc := r.pieces[(parity+1+k)%n]
		within := row*r.chunk + pos%r.chunk
		return pc, pc.at + within, r.chunk - pos%r.chunk
	}
	if r.chunk > 0 {
		n := int64(len(r.pieces))
		c := pos / r.chunk
		pc := r.pieces[c%n]
		within := (c/n)*r.chunk + pos%r.chunk
		return pc, pc.at + within, r.chunk - pos%r.chunk
	}
	i := sort.Search(len(r.pieces), func(i int) bool { return r.pieces[i].volOff+r.pieces[i].size > pos })
	pc := r.pieces[i]
	within := pos - pc.volOff
	return pc, pc.at + within, pc.size - within
}

// rebuild fills p with the bytes of the missing RAID-5 column at offset
// off of the column: the XOR of the other columns' bytes there (data and
// parity alike).
func (r *Reader) rebuild(p []byte, off int64) error {
	clear(p)
	buf := make([]byte, len(p))
	for i, pc := range r.pieces {
		if i == r.missing {
			continue
		}
		if _, err := pc.disk.r.ReadAt(buf, pc.at+off); err != nil && err != io.EOF {
			return fmt.Errorf("ldm: volume %s: rebuilding a chunk of its missing column: %w", r.name, err)
		}
		for j, b := range buf {
			p[j] ^= b
		}
	}
	return nil
}
