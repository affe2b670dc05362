package guest

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// What a volume without a filesystem we read is for. Every Windows disk
// has a Microsoft reserved partition and every BIOS-booted Linux GPT disk
// a BIOS boot one: shown as "unknown", they look like something ckptfs
// failed at. And a Storage Spaces disk or a Linux software RAID member
// holds volumes ckptfs does not assemble: the user should learn that from
// the listing, not guess it from "unknown". (The partitions of a Windows
// dynamic disk are named the same way, and its volumes read: ldm.go.)

// gptPurposes names the GPT partition types a volume's purpose is told
// by (upper-case type GUIDs, as Volume.PartType has them).
var gptPurposes = map[string]string{
	"C12A7328-F81F-11D2-BA4B-00A0C93EC93B": "EFI system",
	"E3C9E316-0B5C-4DB8-817D-F92DF00215AE": "Microsoft reserved",
	"EBD0A0A2-B9E5-4433-87C0-68B6B72699C7": "Microsoft basic data",
	"DE94BBA4-06D1-4D40-A16A-BFD50179D6AC": "Windows recovery",
	"5808C8AA-7E8F-42E0-85D2-E1E90434CFB3": purposeLDM,
	"AF9B60A0-1431-4F62-BC68-3311714A69AD": purposeLDM,
	"E75CAF8F-F680-4CEE-AFA3-B001E56EFC2D": purposeSpaces,
	"21686148-6449-6E6F-744E-656564454649": "BIOS boot",
	"0FC63DAF-8483-4772-8E79-3D69D8477DE4": "Linux filesystem",
	"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F": "Linux swap",
	"E6D6D379-F507-44C2-A23C-238F2A3DF928": "Linux LVM",
	"A19D880F-05FC-4D3B-A006-743F0F84911E": purposeMD,
	"CA7D7CCB-63ED-4C53-861C-1742536059CC": "Linux LUKS",
	"BC13C2FF-59E6-4262-A352-B275FD6F7172": "Linux /boot",
	"4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709": "Linux root (x86-64)",
	"933AC7E1-2EB4-4F13-B844-0E14E2AEF915": "Linux /home",
	"8DA63339-0007-60C0-C436-083AC8230908": "Linux reserved",
}

// mbrPurposes names MBR partition types the same way.
var mbrPurposes = map[string]string{
	"0x27": "Windows recovery",
	"0x42": purposeLDM,
	"0x82": "Linux swap",
	"0x83": "Linux filesystem",
	"0x8e": "Linux LVM",
	"0xef": "EFI system",
	"0xfd": purposeMD,
}

// The purposes of volumes that hold what ckptfs does not read (purposeErr).
const (
	purposeLDM    = "Windows dynamic disk (LDM)"
	purposeSpaces = "Windows Storage Spaces"
	purposeMD     = "Linux software RAID (md) member"
	purposeReFS   = "ReFS (Windows Resilient File System)"
)

// mdMagic starts a Linux md superblock: at 4 KiB (version 1.2, mdadm's
// default) or at the start (1.1) of a member.
const mdMagic = 0xa92b4efc

// volumePurpose says what v, which holds no filesystem we read, is for:
// by its content when it is an md member, else by its partition type; ""
// when neither tells. probe is the volume's first bytes.
func volumePurpose(v *Volume, probe []byte) string {
	if len(probe) >= 11 && string(probe[3:11]) == "ReFS\x00\x00\x00\x00" {
		return purposeReFS
	}
	for _, off := range []int{4096, 0} {
		if len(probe) >= off+4 && binary.LittleEndian.Uint32(probe[off:]) == mdMagic {
			return purposeMD
		}
	}
	switch v.Table {
	case "gpt":
		return gptPurposes[strings.ToUpper(v.PartType)]
	case "mbr":
		return mbrPurposes[v.PartType]
	}
	return ""
}

// purposeErr is why a volume of purpose p is not read, when it holds
// volumes or a filesystem ckptfs does not read (nil for the others: a
// Microsoft reserved partition holds nothing to read).
func purposeErr(p string) error {
	switch p {
	case purposeSpaces, purposeMD:
		return fmt.Errorf("%s: its volumes are not assembled or read: %w", p, ErrUnsupported)
	case purposeReFS:
		return fmt.Errorf("%s: %w", p, ErrUnsupported)
	}
	return nil
}
