#!/usr/bin/env bash
# Builds the VM folder the remote-source tests upload to S3, Azure Blob and
# a web server: OUT/web02/ holds a GPT disk with one NTFS partition as a
# 4-layer Hyper-V chain (web02.vhdx and three .avhdx children, the last
# being the running state) and old-style XML VM configuration: the VM's
# and one per checkpoint (Virtual Machines/, Snapshots/).
#
# How: as testdata/demo/gen.sh, a raw disk partitioned with sgdisk and
# formatted with mkntfs is filled through ntfs-3g (needs /dev/fuse) four
# times; tools/mkchain ($MKCHAIN) turns the four states into the chain.
set -euo pipefail
. "$(dirname "$0")/../lib/unmount.sh"
out=${1:-testdata/out/remote}
mkchain=${MKCHAIN:-bin/mkchain}
work=$(mktemp -d)
mnt="$work/mnt"
cleanup() { mountpoint -q "$mnt" 2>/dev/null && fusermount3 -u "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$mnt"

disk="$work/disk.raw"
truncate -s 40M "$disk"
sgdisk -o -n 1:2048:+36M -t 1:0700 "$disk" >/dev/null
sgdisk -U 7E7C1A2B-0C3D-4E5F-8A9B-0C1D2E3F4A5B -u 1:7A7B8C9D-1E2F-4A3B-9C4D-5E6F7A8B9C0D "$disk" >/dev/null
start=$((2048 * 512))
vol="$work/vol.img"
truncate -s 36M "$vol"
mkntfs -q -F -Q -s 512 -c 4096 -p 2048 -H 255 -S 63 -L Web02 "$vol" >/dev/null 2>&1 || { echo "mkntfs failed" >&2; exit 1; }

fill() { ntfs-3g "$vol" "$mnt"; }
seal() {
	fuse_unmount "$mnt" "$vol"
	dd if="$vol" of="$disk" bs=1M seek=$((start / 1048576)) conv=notrunc status=none
	cp --sparse=always "$disk" "$work/state$1.raw"
}

fill
mkdir -p "$mnt/data" "$mnt/logs"
printf 'one\n' > "$mnt/data/a.txt"
head -c 5000000 /dev/urandom > "$mnt/data/big.bin" # differs per run; compared against the local copy
seal 0
fill
printf 'one\ntwo\n' > "$mnt/data/a.txt"
printf 'boot 1\n' > "$mnt/logs/1.log"
seal 1
fill
printf 'boot 2\n' > "$mnt/logs/2.log"
head -c 1000000 /dev/urandom | dd of="$mnt/data/big.bin" conv=notrunc status=none
seal 2
fill
rm "$mnt/logs/1.log"
printf 'one\ntwo\nthree\n' > "$mnt/data/a.txt"
seal 3

vm="$out/web02"
rm -rf "$vm"
mkdir -p "$vm/Virtual Hard Disks" "$vm/Virtual Machines" "$vm/Snapshots"
mapfile -t files < <("$mkchain" -o "$vm/Virtual Hard Disks" -name web02 -seed web02 \
	"$work/state0.raw" "$work/state1.raw" "$work/state2.raw" "$work/state3.raw")

vmid=0B1B2C3D-0000-4000-8000-00000000BBBB
# config ID NAME PARENT DISK: one XML configuration in UTF-16 with a BOM.
config() {
	local parent=""
	[ -n "$3" ] && parent="<parent_snapshot_id type=\"string\">$3</parent_snapshot_id>"
	{
		printf '\xff\xfe'
		printf '%s' "<?xml version=\"1.0\" encoding=\"UTF-16\" standalone=\"yes\"?>
<configuration>
<_83f8638b-8dca-4152-9eda-2ca8b33039b4_><controller0><drive0><pathname type=\"string\">C:\\Hyper-V\\web02\\Virtual Hard Disks\\$4</pathname><type type=\"string\">VHD</type></drive0></controller0></_83f8638b-8dca-4152-9eda-2ca8b33039b4_>
<properties><global_id type=\"string\">$1</global_id><name type=\"string\">$2</name>$parent</properties><settings><global><logical_id type=\"string\">$vmid</logical_id></global></settings>
</configuration>
" | iconv -f UTF-8 -t UTF-16LE
	}
}
s1=0B1B2C3D-0000-4000-8000-000000000001
s2=0B1B2C3D-0000-4000-8000-000000000002
s3=0B1B2C3D-0000-4000-8000-000000000003
b() { basename "$1"; }
config $vmid "Web 02" "" "$(b "${files[3]}")" > "$vm/Virtual Machines/$vmid.xml"
config $s1 "Installed" "" "$(b "${files[0]}")" > "$vm/Snapshots/$s1.xml"
config $s2 "Booted once" $s1 "$(b "${files[1]}")" > "$vm/Snapshots/$s2.xml"
config $s3 "Booted twice" $s2 "$(b "${files[2]}")" > "$vm/Snapshots/$s3.xml"
printf '%s\n' "${files[@]}"
