package guest

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"strings"
)

// DriveLetters finds the drive letters ("C:") the Windows installed on
// one of vols assigned to vols, from the MountedDevices key of its SYSTEM
// hive: a value \DosDevices\X: holds "DMIO:ID:" and a GPT partition's
// GUID, or an MBR disk's signature and the partition's byte offset.
// Volumes with no letter, and shadow copies, are not in the map; nil when
// no Windows system volume is found or its hive cannot be read (the
// letters are a convenience: nothing fails without them). The first
// installation found, in the order of vols, is used. A dynamic volume the
// registry gives no letter gets the one its LDM database records (Windows
// writes the letter it last gave the volume there), unless the registry
// gave that letter to another volume.
func DriveLetters(vols []*Volume) map[*Volume]string {
	letters := registryLetters(vols)
	taken := map[string]bool{}
	for _, l := range letters {
		taken[l] = true
	}
	for _, v := range vols {
		hint := strings.ToUpper(v.DriveHint)
		if hint == "" || v.IsShadow() || letters[v] != "" || taken[hint] {
			continue
		}
		if letters == nil {
			letters = map[*Volume]string{}
		}
		letters[v], taken[hint] = hint, true
	}
	return letters
}

// registryLetters is DriveLetters from the registry alone.
func registryLetters(vols []*Volume) map[*Volume]string {
	for _, sys := range vols {
		if sys.FS == nil || sys.FSType != fsNTFS || sys.IsShadow() {
			continue
		}
		devs, ok := mountedDevices(sys.FS)
		if !ok {
			continue
		}
		letters := map[*Volume]string{}
		for _, d := range devs {
			for _, v := range vols {
				if v.IsShadow() || v.Table == "none" || letters[v] != "" {
					continue
				}
				if d.matches(v) {
					letters[v] = d.letter
					break
				}
			}
		}
		return letters
	}
	return nil
}

// mountedDevice is one \DosDevices\X: value.
type mountedDevice struct {
	letter string // "C:"
	guid   string // GPT partition GUID, upper case; "" for MBR
	sig    uint32 // MBR disk signature
	offset int64  // MBR partition offset in bytes
}

func (d mountedDevice) matches(v *Volume) bool {
	if d.guid != "" {
		// A dynamic volume is named by its volume GUID the same way.
		return (v.Table == "gpt" || v.Table == "ldm") && v.PartGUID == d.guid
	}
	return v.Table == "mbr" && v.DiskSignature == d.sig && v.Start == d.offset
}

// mountedDevices reads the drive letter values of the SYSTEM hive on
// fsys; ok is false when there is none or it cannot be read.
func mountedDevices(fsys fs.FS) (devs []mountedDevice, ok bool) {
	h, done, err := openHive(fsys, systemHivePath)
	if err != nil {
		return nil, false
	}
	defer done()
	k, err := h.Key("MountedDevices")
	if err != nil {
		return nil, false
	}
	vals, err := k.Values()
	if err != nil {
		return nil, false
	}
	for _, val := range vals {
		rest, isDrive := cutPrefixFold(val.Name, `\DosDevices\`)
		if !isDrive || len(rest) != 2 || rest[1] != ':' || !isLetter(rest[0]) {
			continue
		}
		d := mountedDevice{letter: strings.ToUpper(rest)}
		switch b := val.Data; {
		case len(b) == 24 && bytes.HasPrefix(b, []byte("DMIO:ID:")):
			d.guid = guidString(b[8:])
		case len(b) == 12:
			d.sig = binary.LittleEndian.Uint32(b)
			d.offset = int64(binary.LittleEndian.Uint64(b[4:]))
		default:
			continue // a removable or other device, named by a string
		}
		devs = append(devs, d)
	}
	return devs, true
}

// guidString formats a GUID stored as Windows does (the first three
// fields little-endian) in the upper-case text form.
func guidString(b []byte) string {
	le := binary.LittleEndian
	var be [16]byte
	binary.BigEndian.PutUint32(be[0:], le.Uint32(b[0:]))
	binary.BigEndian.PutUint16(be[4:], le.Uint16(b[4:]))
	binary.BigEndian.PutUint16(be[6:], le.Uint16(b[6:]))
	copy(be[8:], b[8:16])
	return strings.ToUpper(uuidText(be))
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
