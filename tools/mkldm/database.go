package main

import (
	"encoding/binary"
	"fmt"
)

// writeDatabase builds the group's records and writes the database, the
// same on every disk but for the PRIVHEAD, which names its own disk.
func writeDatabase(l *Layout, disks map[string]*disk) error {
	recs, counts, err := records(l, disks)
	if err != nil {
		return err
	}
	area, err := slots(recs)
	if err != nil {
		return err
	}
	v := vmdb{name: l.Group.Name, guid: l.Group.GUID, seq: l.Group.Seq, status: 1,
		nVol: counts[0], nComp: counts[1], nPart: counts[2], nDisk: counts[3]}
	for _, s := range l.Disks {
		d := disks[s.Name]
		cfg := d.b[d.cfgStart*512 : (d.cfgStart+dbSectors)*512]
		ph := privhead{seq: uint32(l.Group.Seq) + 100, disk: s.GUID, host: l.Group.Host, group: l.Group.GUID,
			groupName: l.Group.Name, dataStart: d.dataStart, dataSize: d.dataSize, cfgStart: d.cfgStart,
			cfgSz: dbSectors, stamp: 0x01cd901cda699df2}
		p := ph.encode()
		if s.Table == "mbr" {
			copy(d.b[6*512:], p)
		}
		copy(cfg[1856*512:], p)
		copy(cfg[2047*512:], p)
		t := tocblock(uint32(l.Group.Seq))
		copy(cfg[2*512:], t)
		copy(cfg[2045*512:], t)
		copy(cfg[vmdbSector*512:], v.encode())
		copy(cfg[vmdbSector*512+512:], area)
	}
	return nil
}

// records returns the group's records in the order they are written
// (group, disks, then each volume's components, partitions and the
// volume), and the counts of volumes, components, partitions and disks.
func records(l *Layout, disks map[string]*disk) ([]record, [4]uint32, error) {
	var counts [4]uint32
	next := uint64(1)
	id := func() uint64 { next++; return next }
	commit := l.Group.Seq
	recs := []record{groupRecord(1, l.Group.Name, l.Group.GUID)}
	for _, s := range l.Disks {
		d := disks[s.Name]
		d.id = id()
		recs = append(recs, diskRecord(d.id, s.Name, s.GUID, s.Alt, s.Rev4, commit))
		counts[3]++
	}
	partNo := map[string]int{}
	for n, v := range l.Volumes {
		vid := id()
		ps := plexes(v)
		var sectors uint64
		for i, p := range ps {
			cid := id()
			typ := map[string]byte{"striped": 1, "raid5": 3}[v.Type]
			if typ == 0 {
				typ = 2 // spanned: simple, spanned and each plex of a mirror
			}
			recs = append(recs, componentRecord(cid, fmt.Sprintf("%s-%02d", v.Name, i+1), typ, len(p), vid, uint64(v.ChunkKiB*2), commit))
			counts[1]++
			var off uint64
			for j, e := range p {
				d := disks[e.Disk]
				if d == nil {
					return nil, counts, fmt.Errorf("volume %s: no disk %s", v.Name, e.Disk)
				}
				if uint64(e.StartKiB+e.SizeKiB)*2 > d.dataSize && !l.Hostile {
					return nil, counts, fmt.Errorf("volume %s: extent past the data area of %s", v.Name, e.Disk)
				}
				partNo[e.Disk]++
				volOff, index := off, 0
				if v.Type == "striped" || v.Type == "raid5" {
					volOff, index = 0, j
				}
				recs = append(recs, partitionRecord(id(), fmt.Sprintf("%s-%02d", e.Disk, partNo[e.Disk]), uint64(e.StartKiB*2),
					volOff, uint64(e.SizeKiB*2), cid, d.id, index, commit))
				counts[2]++
				off += uint64(e.SizeKiB * 2)
			}
			if i == 0 {
				sectors = off
			}
			if v.Type == "raid5" {
				sectors = off / uint64(len(p)) * uint64(len(p)-1) // one column's worth is parity
			}
		}
		recs = append(recs, volumeRecord(vid, v.Name, v.Type == "raid5", byte(n+1), len(ps), sectors, v.PartType, v.GUID, v.Hint, commit))
		counts[0]++
	}
	return recs, counts, nil
}

// slots lays the records in VBLK slots after the VMDB: a record longer
// than a slot spans several, sharing its record id; its second slot
// comes after the next record's, as Windows leaves them. Every slot of
// the config region carries the VBLK magic and its sequence number.
func slots(recs []record) ([]byte, error) {
	const per = vblkSize - 16
	total := configSectors*512/vblkSize - 4
	area := make([]byte, total*vblkSize)
	slot := 0
	put := func(recID uint32, entry, n int, data []byte) error {
		if slot >= total {
			return fmt.Errorf("the records need more than %d slots", total)
		}
		s := area[slot*vblkSize:]
		binary.BigEndian.PutUint32(s[8:], recID)
		binary.BigEndian.PutUint16(s[12:], uint16(entry))
		binary.BigEndian.PutUint16(s[14:], uint16(n))
		copy(s[16:vblkSize], data)
		slot++
		return nil
	}
	type pending struct {
		id    uint32
		entry int
		n     int
		data  []byte
	}
	var later []pending
	for i, r := range recs {
		full := make([]byte, 8, 8+len(r.data))
		full[2], full[3] = r.flags, r.typ
		binary.BigEndian.PutUint32(full[4:], uint32(len(r.data)))
		full = append(full, r.data...)
		n := (len(full) + per - 1) / per
		recID := uint32(0x100 + i)
		if err := put(recID, 0, n, full[:min(per, len(full))]); err != nil {
			return nil, err
		}
		for _, p := range later {
			if err := put(p.id, p.entry, p.n, p.data); err != nil {
				return nil, err
			}
		}
		later = later[:0]
		for e := 1; e < n; e++ {
			later = append(later, pending{recID, e, n, full[e*per : min((e+1)*per, len(full))]})
		}
	}
	for _, p := range later {
		if err := put(p.id, p.entry, p.n, p.data); err != nil {
			return nil, err
		}
	}
	for i := 0; i < total; i++ {
		s := area[i*vblkSize:]
		copy(s, "VBLK")
		binary.BigEndian.PutUint32(s[4:], uint32(i+4))
	}
	return area, nil
}
