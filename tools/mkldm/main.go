// Command mkldm lays out Windows dynamic disks (LDM) as Windows does, from
// a JSON layout: the partition table (MBR type 0x42, or GPT "LDM
// metadata" and "LDM data" partitions), the LDM database on every disk
// (PRIVHEAD copies, TOCBLOCKs, VMDB, VBLK records, some spanning two
// slots), and each volume's bytes (a filesystem image made beforehand)
// scattered over its extents. No tool on Linux writes LDM; ldmtool
// checks what this one writes (see ldm's oracle tests).
//
//	mkldm -layout testdata/ldm/layout.json -images DIR -out DIR
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// Layout is the JSON input.
type Layout struct {
	Group struct {
		Name, GUID, Host string
		Seq              uint64
	}
	Disks   []DiskSpec
	Volumes []VolumeSpec
	Hostile bool // extents past a disk's data area are written as given (for hostile test disks)
}

// DiskSpec is one disk: its file, table ("mbr" or "gpt") and size.
type DiskSpec struct {
	Name, GUID, File, Table string
	SizeMiB                 int64
	Signature               uint32
	Alt                     string // a revision 3 record's alternative name: a long one spans two slots
	Rev4                    bool   // a revision 4 disk record (binary GUID)
}

// VolumeSpec is one volume: Extents (simple, spanned, striped, raid5: the
// columns in order) or Plexes (mirrored), in KiB from the start of each
// disk's data area.
type VolumeSpec struct {
	Name, GUID, Type, Hint, Image string
	PartType                      byte
	ChunkKiB                      int64
	Extents                       []Ext
	Plexes                        [][]Ext
}

// Ext is one partition.
type Ext struct {
	Disk              string
	StartKiB, SizeKiB int64
}

func main() {
	layout := flag.String("layout", "", "the layout (JSON)")
	images := flag.String("images", ".", `folder of the volumes' images ("": the volumes are left zero)`)
	out := flag.String("out", ".", "folder the disks are written to")
	flag.Parse()
	if err := run(*layout, *images, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkldm:", err)
		os.Exit(1)
	}
}

func run(layoutPath, images, out string) error {
	b, err := os.ReadFile(layoutPath)
	if err != nil {
		return err
	}
	var l Layout
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("%s: %w", layoutPath, err)
	}
	disks, err := newDisks(&l)
	if err != nil {
		return err
	}
	if err := writeDatabase(&l, disks); err != nil {
		return err
	}
	for _, v := range l.Volumes {
		if v.Image == "" || images == "" {
			continue
		}
		img, err := os.ReadFile(filepath.Join(images, v.Image))
		if err != nil {
			return err
		}
		if err := scatter(v, img, disks); err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
	}
	for _, d := range disks {
		if err := os.WriteFile(filepath.Join(out, d.spec.File), d.b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// disk is a disk being written.
type disk struct {
	spec                DiskSpec
	id                  uint64
	b                   []byte
	dataStart, dataSize uint64 // sectors
	cfgStart            uint64
}

func newDisks(l *Layout) (map[string]*disk, error) {
	disks := map[string]*disk{}
	for _, s := range l.Disks {
		d := &disk{spec: s, b: make([]byte, s.SizeMiB<<20)}
		sectors := uint64(len(d.b) / 512)
		switch s.Table {
		case "mbr":
			// The database takes the last megabyte; the data area runs
			// from sector 63 to it, as on the disks Windows converted.
			d.cfgStart = sectors - dbSectors
			d.dataStart, d.dataSize = 63, d.cfgStart-63
			mbrLDM(d.b, s.Signature, d.dataStart, d.dataSize)
		case "gpt":
			d.cfgStart = 34
			d.dataStart = 4096
			d.dataSize = sectors - 34 - d.dataStart
			gptDisk(d.b, s.GUID, []gptPart{
				{typ: gptLDMMetadata, guid: s.GUID, first: 34, last: 34 + dbSectors - 1, name: "LDM metadata partition"},
				{typ: gptMSR, guid: "e3c9e316-0000-4000-8000-" + s.GUID[24:], first: 34 + dbSectors, last: d.dataStart - 1, name: "Microsoft reserved partition"},
				{typ: gptLDMData, guid: "af9b60a0-0000-4000-8000-" + s.GUID[24:], first: d.dataStart, last: d.dataStart + d.dataSize - 1, name: "LDM data partition"},
			})
		default:
			return nil, fmt.Errorf("disk %s: table %q", s.Name, s.Table)
		}
		disks[s.Name] = d
	}
	return disks, nil
}

// plexes returns v's plexes: its extents as one, or its mirror's.
func plexes(v VolumeSpec) [][]Ext {
	if v.Type == "mirrored" {
		return v.Plexes
	}
	return [][]Ext{v.Extents}
}

// scatter writes a volume's image over its extents.
func scatter(v VolumeSpec, img []byte, disks map[string]*disk) error {
	for _, p := range plexes(v) {
		var size int64
		for _, e := range p {
			size += e.SizeKiB << 10
		}
		if v.Type == "raid5" {
			raid5(v, p, img, disks)
			continue
		}
		if int64(len(img)) != size {
			return fmt.Errorf("image of %d bytes for a plex of %d", len(img), size)
		}
		if v.Type == "striped" {
			chunk := v.ChunkKiB << 10
			n := int64(len(p))
			for c := int64(0); c*chunk < size; c++ {
				e := p[c%n]
				d := disks[e.Disk]
				at := int64(d.dataStart)*512 + e.StartKiB<<10 + (c/n)*chunk
				copy(d.b[at:at+chunk], img[c*chunk:])
			}
			continue
		}
		off := int64(0)
		for _, e := range p {
			d := disks[e.Disk]
			at := int64(d.dataStart)*512 + e.StartKiB<<10
			copy(d.b[at:at+e.SizeKiB<<10], img[off:])
			off += e.SizeKiB << 10
		}
	}
	return nil
}

// raid5 writes a RAID-5 volume's image over its columns, left symmetric
// (as Windows lays them out, and the device-mapper's raid5_ls): row r's
// parity chunk on column n-1-r%n, its data chunks on the columns after
// it, wrapping around.
func raid5(v VolumeSpec, cols []Ext, img []byte, disks map[string]*disk) {
	chunk := v.ChunkKiB << 10
	n := int64(len(cols))
	at := func(col, row int64) []byte {
		d := disks[cols[col].Disk]
		off := int64(d.dataStart)*512 + cols[col].StartKiB<<10 + row*chunk
		return d.b[off : off+chunk]
	}
	for row := int64(0); row*(n-1)*chunk < int64(len(img)); row++ {
		parity := n - 1 - row%n
		p := at(parity, row)
		clear(p)
		for k := int64(0); k < n-1; k++ {
			c := (row*(n-1) + k) * chunk
			dst := at((parity+1+k)%n, row)
			copy(dst, img[c:c+chunk])
			for i := range p {
				p[i] ^= dst[i]
			}
		}
	}
}
