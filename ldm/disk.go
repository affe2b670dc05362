package ldm

import (
	"fmt"
	"io"
	"os"
)

// Disk is one dynamic disk: its identity and its copy of the group's
// database.
type Disk struct {
	GUID      string // this disk's GUID (lower case), as the database's disk records name it
	Name      string // its name in the database ("Disk1")
	HostGUID  string // the computer that last wrote the database
	GroupGUID string
	GroupName string
	Table     string // the partition table the PRIVHEAD was found by: "mbr" or "gpt"
	Version   string // the PRIVHEAD's version: "2.11" (Windows 2000 to 2003), "2.12" (Vista on)
	// DataStart and DataSize are the data area, in bytes from the start
	// of the disk: partition records count from DataStart.
	DataStart, DataSize int64
	// ConfigStart and ConfigSize are the database, in bytes.
	ConfigStart, ConfigSize int64
	// PrivheadOffset is where the PRIVHEAD that was read lies.
	PrivheadOffset int64
	DB             *Database

	r      io.ReaderAt
	size   int64
	closer io.Closer
}

// Size is the size of the disk in bytes.
func (d *Disk) Size() int64 { return d.size }

// ReaderAt is the disk NewDisk was given.
func (d *Disk) ReaderAt() io.ReaderAt { return d.r }

// Open reads the dynamic disk in the named file (a raw image or a block
// device). Close closes the file.
func Open(name string) (*Disk, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	size := st.Size()
	if st.Mode()&os.ModeDevice != 0 {
		if size, err = f.Seek(0, io.SeekEnd); err != nil {
			f.Close()
			return nil, err
		}
	}
	d, err := NewDisk(f, size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	d.closer = f
	return d, nil
}

// Close closes the file Open opened; it does nothing for a Disk made by
// NewDisk.
func (d *Disk) Close() error {
	if d.closer == nil {
		return nil
	}
	return d.closer.Close()
}

// NewDisk reads the LDM database of the disk in r (size bytes; 512-byte
// sectors). A disk that is not dynamic gives an error wrapping ErrNotLDM.
func NewDisk(r io.ReaderAt, size int64) (*Disk, error) {
	if size < 0 {
		return nil, formatErr(-1, "disk of %d bytes", size)
	}
	at, table, err := findPrivhead(r, size)
	if err != nil {
		return nil, err
	}
	b := make([]byte, privheadSize)
	if err := readAt(r, size, b, at); err != nil {
		return nil, fmt.Errorf("ldm: reading the PRIVHEAD: %w", err)
	}
	ph, err := parsePrivhead(b, at)
	if err != nil && table == "mbr" && size >= 2*SectorSize {
		// The copy in the database's last sector, at the end of an MBR
		// disk, stands in for a damaged first one.
		last := size/SectorSize*SectorSize - SectorSize
		if readAt(r, size, b, last) == nil {
			if ph2, err2 := parsePrivhead(b, last); err2 == nil {
				ph, err, at = ph2, nil, last
			}
		}
	}
	if err != nil {
		return nil, err
	}
	d := &Disk{GUID: ph.disk, HostGUID: ph.host, GroupGUID: ph.group, GroupName: ph.name, Table: table,
		Version: fmt.Sprintf("%d.%d", ph.major, ph.minor), PrivheadOffset: at, r: r, size: size}
	if err := d.areas(ph, at); err != nil {
		return nil, err
	}
	if err := d.readDatabase(); err != nil {
		return nil, err
	}
	return d, nil
}

// areas checks the data area and the database the PRIVHEAD (at byte at)
// places, and sets them.
func (d *Disk) areas(ph privhead, at int64) error {
	sectors := uint64(d.size / SectorSize)
	if ph.configSize < 3 || ph.configSize > maxConfig/SectorSize || ph.configStart > sectors || ph.configSize > sectors-ph.configStart {
		return formatErr(at+0x12b, "database of %d sectors at sector %d of a %d-sector disk", ph.configSize, ph.configStart, sectors)
	}
	if ph.dataStart > sectors || ph.dataSize > sectors-ph.dataStart {
		return formatErr(at+0x11b, "data area of %d sectors at sector %d of a %d-sector disk", ph.dataSize, ph.dataStart, sectors)
	}
	if ph.dataStart < ph.configStart+ph.configSize && ph.configStart < ph.dataStart+ph.dataSize {
		return formatErr(at+0x11b, "data area (sectors %d+%d) and database (sectors %d+%d) overlap",
			ph.dataStart, ph.dataSize, ph.configStart, ph.configSize)
	}
	// Nor may it hold the partition table (sector 0) or this PRIVHEAD:
	// a volume there would serve them as its own bytes.
	if ph.dataStart == 0 || ph.dataStart <= uint64(at/SectorSize) && uint64(at/SectorSize) < ph.dataStart+ph.dataSize {
		return formatErr(at+0x11b, "data area (sectors %d+%d) holds the partition table or the PRIVHEAD (sector %d)",
			ph.dataStart, ph.dataSize, at/SectorSize)
	}
	d.DataStart, d.DataSize = int64(ph.dataStart)*SectorSize, int64(ph.dataSize)*SectorSize
	d.ConfigStart, d.ConfigSize = int64(ph.configStart)*SectorSize, int64(ph.configSize)*SectorSize
	return nil
}

// readDatabase reads and decodes the database, and finds this disk in it.
func (d *Disk) readDatabase() error {
	config := make([]byte, d.ConfigSize)
	if err := readAt(d.r, d.size, config, d.ConfigStart); err != nil {
		return fmt.Errorf("ldm: reading the database: %w", err)
	}
	h, vmdbAt, end, err := vblkArea(config, d.ConfigStart)
	if err != nil {
		return err
	}
	recs, err := readSlots(config, d.ConfigStart, vmdbAt+int(h.first), end, int(h.vblkSize))
	if err != nil {
		return err
	}
	db := &Database{Seq: h.committed, GroupGUID: d.GroupGUID, GroupName: h.name}
	if err := parseRecords(db, recs); err != nil {
		return err
	}
	vmdbOff := d.ConfigStart + int64(vmdbAt)
	if err := db.link(h, vmdbOff); err != nil {
		return err
	}
	d.DB = db
	if db.GroupName != "" {
		d.GroupName = db.GroupName
	}
	for _, r := range db.Disks {
		if r.GUID == d.GUID {
			d.Name = r.Name
			return nil
		}
	}
	return formatErr(d.PrivheadOffset+0x30, "the database does not list this disk (%s)", d.GUID)
}

// VolumesOn returns the volumes of the database with an extent on this
// disk.
func (d *Disk) VolumesOn() []*Volume {
	var out []*Volume
	for _, v := range d.DB.volumes {
		for _, g := range v.Disks() {
			if g == d.GUID {
				out = append(out, v)
				break
			}
		}
	}
	return out
}
