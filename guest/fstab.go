package guest

import (
	"bytes"
	"strings"
)

// Bounds on what ParseFstab reads: a real fstab has a few dozen lines of
// a few dozen bytes; a hostile one (a binary file, a huge one) is cut.
const (
	maxFstabBytes   = 64 << 10 // readSmallFile's cap too
	maxFstabEntries = 1024
	maxFstabField   = 4096 // PATH_MAX
)

// FstabEntry is one line of /etc/fstab (fstab(5)), its fields unescaped.
type FstabEntry struct {
	Spec    string // the device: "UUID=...", "/dev/mapper/rhel-root", "tmpfs"
	File    string // the mount point: "/boot", or "none" / "swap"
	Type    string // "xfs", "btrfs", "swap", "nfs", ...
	Options []string
	Line    int // 1-based
}

// Option returns the value of option name ("subvol" in "subvol=root"),
// and whether it is there at all (a flag like "bind" has no value).
func (e FstabEntry) Option(name string) (string, bool) {
	for _, o := range e.Options {
		k, v, _ := strings.Cut(o, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}

// ParseFstab reads the entries of an fstab: comments (#) and blank
// lines are skipped, fields are separated by spaces and tabs, and the
// octal escapes of fstab(5) ("\040" for a space) are decoded. A line
// with fewer than two fields is skipped, as mount(8) ignores it; the
// type defaults to "auto" and the options to "defaults". At most
// maxFstabBytes and maxFstabEntries are read: what lies past is ignored.
func ParseFstab(b []byte) []FstabEntry {
	if len(b) > maxFstabBytes {
		b = b[:maxFstabBytes]
	}
	var out []FstabEntry
	for n := 1; len(b) > 0 && len(out) < maxFstabEntries; n++ {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		f := strings.FieldsFunc(string(line), func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' })
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		e := FstabEntry{Spec: unescapeFstab(f[0]), File: unescapeFstab(f[1]), Type: "auto", Line: n}
		if len(f) > 2 {
			e.Type = unescapeFstab(f[2])
		}
		opts := "defaults"
		if len(f) > 3 {
			opts = unescapeFstab(f[3])
		}
		e.Options = strings.Split(opts, ",")
		if len(e.Spec) > maxFstabField || len(e.File) > maxFstabField {
			continue
		}
		out = append(out, e)
	}
	return out
}

// unescapeFstab decodes fstab's \ooo octal escapes; a backslash not
// followed by three octal digits stays as it is, as in getmntent(3).
func unescapeFstab(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }

// parseCrypttab reads /etc/crypttab (crypttab(5)): the device-mapper
// name each line gives a decrypted volume, and the encrypted device it
// names. Its lines are fstab's (fields, comments, bounds).
func parseCrypttab(b []byte) map[string]deviceRef {
	out := map[string]deviceRef{}
	for _, e := range ParseFstab(b) {
		if ref, ok := parseDevice(e.File); ok && ref.kind != "mapper" {
			out[e.Spec] = ref
		}
	}
	return out
}

// deviceRef is what an fstab device names, reduced to one key of a
// volume's Identity or place.
type deviceRef struct {
	kind  string // "uuid", "label", "partuuid", "partlabel", "lvm", "mapper", "disk"
	value string // the UUID, label...; "VG/LV" for "lvm", and for "mapper" when the name splits so
	name  string // "mapper": the device-mapper name (/dev/mapper/<name>)
	disk  int    // "disk": the disk's index (sda = 0), and
	part  int    // the partition number
}

// parseDevice reads an fstab device field: the tags of fstab(5)
// (UUID=, LABEL=, PARTUUID=, PARTLABEL=, quoted or not), the same as
// /dev/disk/by-*/ links, a device-mapper name (/dev/mapper/VG-LV of an
// LVM volume, a "-" in a name doubled; a decrypted volume's), an LVM
// volume as /dev/VG/LV, and a kernel name of a partition
// (/dev/sda2, vda2, xvda2, hda2, nvme0n1p2). ok is false for what names
// no local block device (tmpfs, proc, host:/export, //server/share).
func parseDevice(spec string) (deviceRef, bool) {
	for _, tag := range []struct{ prefix, kind string }{
		{"UUID=", "uuid"}, {"LABEL=", "label"}, {"PARTUUID=", "partuuid"}, {"PARTLABEL=", "partlabel"},
		{"/dev/disk/by-uuid/", "uuid"}, {"/dev/disk/by-label/", "label"},
		{"/dev/disk/by-partuuid/", "partuuid"}, {"/dev/disk/by-partlabel/", "partlabel"},
	} {
		if v, ok := strings.CutPrefix(spec, tag.prefix); ok {
			if strings.HasPrefix(tag.prefix, "/dev/") {
				v = unescapeUdev(v)
			} else if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
				v = v[1 : len(v)-1]
			}
			return deviceRef{kind: tag.kind, value: v}, v != ""
		}
	}
	if name, ok := strings.CutPrefix(spec, "/dev/mapper/"); ok {
		// An LVM volume, or a decrypted one (crypttab's name, or
		// Fedora's luks-<UUID>): the name may be either.
		ref := deviceRef{kind: "mapper", name: name}
		if vg, lv, ok := splitMapperName(name); ok {
			ref.value = vg + "/" + lv
		}
		return ref, name != "" && !strings.Contains(name, "/")
	}
	rest, ok := strings.CutPrefix(spec, "/dev/")
	if !ok {
		return deviceRef{}, false
	}
	if d, p, ok := kernelPartition(rest); ok {
		return deviceRef{kind: "disk", disk: d, part: p}, true
	}
	if vg, lv, ok := strings.Cut(rest, "/"); ok && vg != "" && lv != "" && !strings.Contains(lv, "/") {
		return deviceRef{kind: "lvm", value: vg + "/" + lv}, true
	}
	return deviceRef{}, false
}

// splitMapperName splits a device-mapper name of an LVM volume, "VG-LV"
// with every "-" inside VG or LV doubled, at its single "-".
func splitMapperName(name string) (vg, lv string, ok bool) {
	for i := 0; i < len(name); i++ {
		if name[i] != '-' {
			continue
		}
		if i+1 < len(name) && name[i+1] == '-' {
			i++
			continue
		}
		vg, lv = name[:i], name[i+1:]
		vg, lv = strings.ReplaceAll(vg, "--", "-"), strings.ReplaceAll(lv, "--", "-")
		return vg, lv, vg != "" && lv != ""
	}
	return "", "", false
}

// kernelPartition reads a kernel name of a partition ("sda2", "vdb1",
// "xvda3", "hda1", "nvme0n1p2") as the disk's index and the partition
// number.
func kernelPartition(name string) (disk, part int, ok bool) {
	if n, rest, ok := cutNumber(strings.TrimPrefix(name, "nvme")); ok && strings.HasPrefix(name, "nvme") {
		if _, rest, ok := cutNumber(strings.TrimPrefix(rest, "n")); ok && strings.HasPrefix(rest, "p") {
			if p, tail, ok := cutNumber(rest[1:]); ok && tail == "" {
				return n, p, p > 0
			}
		}
		return 0, 0, false
	}
	for _, prefix := range []string{"sd", "vd", "xvd", "hd"} {
		rest, found := strings.CutPrefix(name, prefix)
		if !found || len(rest) < 2 || rest[0] < 'a' || rest[0] > 'z' {
			continue
		}
		// sdaa and beyond are left alone: a guest with 27 disks is not
		// one whose order we can trust.
		if p, tail, ok := cutNumber(rest[1:]); ok && tail == "" && p > 0 {
			return int(rest[0] - 'a'), p, true
		}
	}
	return 0, 0, false
}

// cutNumber reads the decimal number s starts with (at most 6 digits).
func cutNumber(s string) (n int, rest string, ok bool) {
	i := 0
	for i < len(s) && i < 6 && '0' <= s[i] && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
	}
	return n, s[i:], i > 0
}

// unescapeUdev decodes the \xHH escapes udev writes into the names of
// /dev/disk/by-label/ links ("my\x20disk").
func unescapeUdev(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' && isHex(s[i+2]) && isHex(s[i+3]) {
			b.WriteByte(unhex(s[i+2])<<4 | unhex(s[i+3]))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}
