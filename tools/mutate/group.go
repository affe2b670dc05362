//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
)

// member is one disk of a group base: its name in the VM folder, its
// container (.vhdx) and its raw bytes.
type member struct {
	name      string
	file, raw []byte
}

// write puts a mutant where ckptfs reads it and returns the path to give
// it: the one disk file, or for a group base a folder of all its disks
// (no VM configuration: ckptfs puts them together by their volume group
// or disk group), the member numbered disk replaced by file (disk < 0:
// none, the unmutated base).
func (b *base) write(disk int, file []byte) string {
	if b.group == nil {
		if disk < 0 {
			file = b.file
		}
		return writeTemp("disk"+b.ext, file)
	}
	folder := filepath.Join(*dir, "work", b.name)
	must(os.RemoveAll(folder))
	for i, m := range b.group {
		f := m.file
		if i == disk {
			f = file
		}
		writeTemp(filepath.Join(b.name, m.name+".vhdx"), f)
	}
	return folder
}

// loadGroups reads the bases of several disks scripts/mutate.sh built:
// ldm (three Windows dynamic disks of one disk group, testdata/ldm) and
// lvmspan (an LVM volume group over two disks, testdata/guest/lvmspan.sh).
func loadGroups() []*base {
	var bases []*base
	if b := loadGroup("ldm", []string{"disk1", "disk2", "disk3"}, ldmRegions); b != nil {
		bases = append(bases, b)
	}
	if b := loadGroup("lvmspan", []string{"a", "b"}, lvmRegions); b != nil {
		bases = append(bases, b)
	}
	return bases
}

func loadGroup(name string, disks []string, guest func([]byte) []region) *base {
	b := &base{name: name, ext: ".vhdx"}
	for i, d := range disks {
		f := read(filepath.Join(name, d+".vhdx"))
		raw := read(filepath.Join(name, d+".img"))
		if f == nil || raw == nil {
			return nil
		}
		b.group = append(b.group, member{name: d, file: f, raw: raw})
		for _, r := range vhdxRegions(f) {
			r.disk = i
			b.regions = append(b.regions, r)
		}
		for _, r := range guest(raw) {
			r.disk = i
			r.raw = true
			// weighed three times: the single-disk bases already cover
			// the containers, these structures are the group's own
			b.regions = append(b.regions, r, r, r)
		}
	}
	return b
}

// ldmRegions lists a dynamic disk's partition table and LDM database:
// the PRIVHEAD copies, TOCBLOCKs, VMDB and the used VBLK slots (weighed
// four times: they are most of the parsing).
func ldmRegions(raw []byte) []region {
	rs := []region{{what: "mbr", off: 0, len: 512}}
	if string(raw[512:520]) == "EFI PART" {
		rs = append(rs, region{what: "gpt header", off: 512, len: 92},
			region{what: "gpt entries", off: 1024, len: 512})
	}
	for o := 0; o+512 <= len(raw); o += 512 {
		switch {
		case string(raw[o:o+8]) == "PRIVHEAD":
			rs = append(rs, region{what: "ldm PRIVHEAD", off: int64(o), len: 512})
		case string(raw[o:o+8]) == "TOCBLOCK":
			rs = append(rs, region{what: "ldm TOCBLOCK", off: int64(o), len: 512})
		case string(raw[o:o+4]) == "VMDB":
			rs = append(rs, region{what: "ldm VMDB", off: int64(o), len: 512})
			first, last := -1, -1
			for v := o + 512; v+4 <= min(len(raw), o+1<<20); v += 16 {
				// a used slot (free ones carry the magic too)
				if string(raw[v:v+4]) == "VBLK" && v+16 <= len(raw) && raw[v+14]|raw[v+15] != 0 {
					if first < 0 {
						first = v
					}
					last = v
				}
			}
			if first >= 0 {
				r := region{what: "ldm VBLK records", off: int64(first), len: int64(last + 128 - first)}
				rs = append(rs, r, r, r, r)
			}
		}
	}
	return rs
}

// lvmRegions lists a physical volume's label, metadata area header and
// metadata text (every copy the circular buffer holds), and the
// partition table when there is one.
func lvmRegions(raw []byte) []region {
	var rs []region
	if string(raw[510:512]) == "\x55\xaa" {
		rs = append(rs, region{what: "mbr", off: 0, len: 512})
	}
	if string(raw[512:520]) == "EFI PART" {
		rs = append(rs, region{what: "gpt header", off: 512, len: 92},
			region{what: "gpt entries", off: 1024, len: 512})
	}
	for o := 0; o+512 <= min(len(raw), 8<<20); o += 512 {
		s := raw[o : o+512]
		switch {
		case string(s[:8]) == "LABELONE":
			rs = append(rs, region{what: "lvm label", off: int64(o), len: 512})
		case string(s[4:20]) == " LVM2 x[5A%r0N*>":
			rs = append(rs, region{what: "lvm mda header", off: int64(o), len: 512})
		case bytes.Contains(s, []byte("seqno = ")):
			end := bytes.IndexByte(raw[o:min(len(raw), o+64<<10)], 0)
			if end < 0 {
				end = 512
			}
			rs = append(rs, region{what: "lvm metadata text", off: int64(o), len: int64(end)})
		}
	}
	return rs
}
