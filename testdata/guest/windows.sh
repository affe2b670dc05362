#!/bin/bash
# windows.sh OUT HIVE: two disks laid out as Windows leaves them, whose
# system volume holds Windows/System32/config/SYSTEM with a MountedDevices
# key giving the drive letters (written with hivexsh, starting from the
# empty hive HIVE the Go test provides: hivexsh cannot create one).
#   OUT/windows-gpt.img  GPT: EFI (FAT16), C: NTFS with the hive, E: NTFS,
#                        and an NTFS volume with no letter
#   OUT/windows-mbr.img  MBR (disk signature 0x1234ABCD): C: NTFS with the
#                        hive at 1 MiB, D: NTFS at 20 MiB
# Tools: sgdisk (gdisk), sfdisk (fdisk), mkfs.fat, mkntfs + ntfs-3g,
# hivexsh (libhivex-bin).
set -euo pipefail
. "$(dirname "$0")/../lib/unmount.sh"
out=$1 hive=$2
mkdir -p "$out"
work=$(mktemp -d)
mnt=$work/mnt
mkdir -p "$mnt"
trap 'fusermount -u "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT

place() { dd if="$2" of="$1" bs=512 seek="$3" conv=notrunc,sparse status=none; }
# ntfs IMG SIZE LABEL [SYSTEM [SOFTWARE]]: an NTFS volume, with Windows'
# registry hives when given.
ntfs() {
	truncate -s "$2" "$1"
	mkntfs -q -F -Q -s 512 -L "$3" "$1" >/dev/null
	ntfs-3g "$1" "$mnt"
	printf '%s\n' "$3" >"$mnt/label.txt"
	if [ $# -gt 3 ]; then
		# As Windows writes the path, in its own case.
		mkdir -p "$mnt/Windows/System32/config"
		cp "$4" "$mnt/Windows/System32/config/SYSTEM"
		if [ $# -gt 4 ]; then cp "$5" "$mnt/Windows/System32/config/SOFTWARE"; fi
	fi
	fuse_unmount "$mnt" "$1"
}
# mkhive FILE VALUES...: the hive with MountedDevices holding name/value
# pairs (hivexsh setval format), then whatever hivexsh commands are on
# stdin.
mkhive() {
	local f=$1
	shift
	cp "$hive" "$f"
	{
		echo "add MountedDevices"
		echo "cd MountedDevices"
		echo "setval $(($# / 2))"
		printf '%s\n' "$@"
		echo "cd .."
		cat
		echo "commit"
	} | hivexsh -w "$f"
}
# The SOFTWARE hive of the GPT disk's Windows: its CurrentVersion key, as
# Windows 11 keeps it ("Windows 10" in ProductName, build 22631).
cp "$hive" "$work/software.hive"
hivexsh -w "$work/software.hive" <<'HIVEX'
add Microsoft
cd Microsoft
add Windows NT
cd Windows NT
add CurrentVersion
cd CurrentVersion
setval 7
ProductName
string:Windows 10 Pro
DisplayVersion
string:23H2
CurrentMajorVersionNumber
dword:0x0000000a
CurrentMinorVersionNumber
dword:0x00000000
CurrentBuildNumber
string:22631
CurrentBuild
string:22631
UBR
dword:3007
commit
HIVEX

# GPT. Partition GUIDs as Windows stores them in DMIO:ID: values: the
# first three fields little-endian.
gpt=$out/windows-gpt.img
rm -f "$gpt"
truncate -s 64M "$gpt"
sgdisk -o -U 0A0B0C0D-1111-2222-3333-444455556666 \
	-n 1:2048:+8M -t 1:EF00 -c 1:"EFI system partition" -u 1:00000000-0000-0000-0000-0000000000E1 \
	-n 2:0:+24M -t 2:0700 -c 2:"Basic data partition" -u 2:12345678-9ABC-DEF0-1122-334455667788 \
	-n 3:0:+16M -t 3:0700 -c 3:"Basic data partition" -u 3:87654321-CBA9-0FED-8899-AABBCCDDEEFF \
	-n 4:0:+8M -t 4:0700 -c 4:"Basic data partition" -u 4:00000000-0000-0000-0000-0000000000F4 \
	"$gpt" >/dev/null
mkhive "$work/gpt.hive" \
	'\DosDevices\C:' 'hex:3:44,4d,49,4f,3a,49,44,3a,78,56,34,12,bc,9a,f0,de,11,22,33,44,55,66,77,88' \
	'\DosDevices\E:' 'hex:3:44,4d,49,4f,3a,49,44,3a,21,43,65,87,a9,cb,ed,0f,88,99,aa,bb,cc,dd,ee,ff' \
	'\DosDevices\F:' 'hex:3:5c,00,3f,00,3f,00,5c,00,49,00,44,00,45,00,23,00' \
	'\??\Volume{11111111-2222-3333-4444-555555555555}' 'hex:3:44,4d,49,4f,3a,49,44,3a,78,56,34,12,bc,9a,f0,de,11,22,33,44,55,66,77,88' <<'HIVEX'
add Select
cd Select
setval 1
Current
dword:2
cd ..
add ControlSet002
cd ControlSet002
add Control
cd Control
add ComputerName
cd ComputerName
add ComputerName
cd ComputerName
setval 1
ComputerName
string:WEB01
HIVEX
rm -f "$work/efi"
mkfs.fat -C -F 16 -s 1 -n EFI "$work/efi" 8192 >/dev/null
place "$gpt" "$work/efi" 2048
ntfs "$work/c" 24M Windows "$work/gpt.hive" "$work/software.hive"
place "$gpt" "$work/c" $((2048 + 8 * 2048))
ntfs "$work/e" 16M Data
place "$gpt" "$work/e" $((2048 + 32 * 2048))
ntfs "$work/n" 8M NoLetter
place "$gpt" "$work/n" $((2048 + 48 * 2048))

# MBR, disk signature 0x1234ABCD: \DosDevices\X: is the signature and the
# partition's byte offset, little-endian.
mbr=$out/windows-mbr.img
rm -f "$mbr"
truncate -s 48M "$mbr"
printf 'label: dos\nlabel-id: 0x1234abcd\n2048,36864,7\n40960,,7\n' | sfdisk -q "$mbr"
mkhive "$work/mbr.hive" \
	'\DosDevices\C:' 'hex:3:cd,ab,34,12,00,00,10,00,00,00,00,00' \
	'\DosDevices\D:' 'hex:3:cd,ab,34,12,00,00,40,01,00,00,00,00' </dev/null
ntfs "$work/mc" 18M System "$work/mbr.hive"
place "$mbr" "$work/mc" 2048
ntfs "$work/md" 8M Data
place "$mbr" "$work/md" 40960
