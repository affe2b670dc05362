#!/usr/bin/env bash
# gen.sh OUT: three Windows dynamic disks of one disk group, laid out by
# tools/mkldm from layout.json (no tool on Linux writes LDM; ldmtool
# checks the result in ldm's oracle tests), with real filesystems inside:
#   disk1.img  48 MiB, MBR (one partition of type 0x42, database in the
#              last MiB), disk record of revision 3 spanning two slots
#   disk2.img  40 MiB, GPT (LDM metadata, Microsoft reserved, LDM data)
#   disk3.img  16 MiB, MBR, disk record of revision 4
#   Volume1  simple, NTFS, on Disk1
#   Volume2  spanned, NTFS, Disk1 then Disk2 (a file crosses the seam)
#   Volume3  spanned over two extents of Disk2, the second before the
#            first on the disk, FAT
#   Volume4  striped, Disk1 and Disk2, 64 KiB chunks, FAT
#   Volume5  mirrored, Disk1 and Disk3, FAT
#   Volume6  simple, FAT, at the very start of Disk3's data area (its
#            boot sector is the first sector of the 0x42 partition)
#   Volume7  RAID-5 over the three disks, 64 KiB chunks, FAT
#   OUT/VolumeN.img      each volume's filesystem image: the bytes the
#                        volume must read
#   OUT/VolumeN.files    sha256sum of each file, paths from the volume root
#   OUT/vm/diskN.vhdx    the disks as dynamic VHDX (qemu-img), in a VM
#                        folder with a Hyper-V configuration naming all three
# NTFS volumes are filled through ntfs-3g (FUSE: root), FAT ones with
# mtools. File contents and times are fixed; mkntfs's serial numbers are
# its own. Tools: mkntfs, ntfs-3g, fusermount3, mkfs.fat, mtools (mmd,
# mcopy), openssl, iconv, qemu-img, go.
set -euo pipefail
. "$(dirname "$0")/../lib/unmount.sh"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/testdata/out/ldm}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
mnt=$work/mnt
mkdir -p "$mnt"
cleanup() {
	if mountpoint -q "$mnt"; then fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
export TZ=UTC LC_ALL=C MTOOLS_SKIP_CHECK=1

prng() { # SEED BYTES: deterministic pseudo-random bytes
	{ openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$1")" -iv "$(printf '%032x' 0)" </dev/zero 2>/dev/null || true; } | head -c "$2"
}
text() { # N lines of text
	local i
	for ((i = 0; i < $1; i++)); do printf 'line %06d of a dynamic volume\n' "$i"; done
}

# tree DIR SEED: the files every volume gets (sizes fit the smallest)
tree() {
	mkdir -p "$1/docs/reports" "$1/empty"
	text 200 >"$1/readme.txt"
	prng "$2" 300000 >"$1/docs/data.bin"
	prng $(($2 + 1)) 4097 >"$1/docs/reports/odd.bin"
	printf 'volume %s\n' "$2" >"$1/docs/reports/id.txt"
	find "$1" -exec touch -m -d '2012-09-11 13:09:00 UTC' {} +
}

ntfs() { # ntfs NAME MIB SEED [BIGFILE_MIB]
	local img=$work/$1.img src=$work/$1.src
	truncate -s "$2M" "$img"
	mkntfs -q -F -Q -s 512 -c 4096 -L "$1" "$img" >/dev/null 2>&1 || mkntfs -F -Q -s 512 -c 4096 -L "$1" "$img"
	tree "$src" "$3"
	if [ -n "${4:-}" ]; then prng $(($3 + 2)) $(($4 << 20)) >"$src/big.bin"; touch -m -d '2012-09-11 13:09:00 UTC' "$src/big.bin"; fi
	ntfs-3g "$img" "$mnt"
	cp -a "$src/." "$mnt/"
	sync
	fuse_unmount "$mnt" "$img"
	sums "$1"
}

fat() { # fat NAME MIB SEED
	local img=$work/$1.img src=$work/$1.src
	truncate -s "$2M" "$img"
	mkfs.fat -i "$(printf '%08x' "$3")" -n "${1^^}" "$img" >/dev/null
	tree "$src" "$3"
	(cd "$src" && find . -mindepth 1 -type d | sort | sed 's|^\./||' | while read -r d; do mmd -i "$img" "::/$d"; done)
	(cd "$src" && find . -type f | sort | sed 's|^\./||' | while read -r f; do mcopy -m -i "$img" "$f" "::/$f"; done)
	sums "$1"
}

sums() { (cd "$work/$1.src" && find . -type f | sort | sed 's|^\./||' | xargs sha256sum) >"$work/$1.files"; }

ntfs Volume1 8 11
ntfs Volume2 12 21 7
fat Volume3 8 31
fat Volume4 8 41
fat Volume5 6 51
fat Volume6 4 61
fat Volume7 8 71

(cd "$root" && go run ./tools/mkldm -layout "$here/layout.json" -images "$work" -out "$work")
mkdir -p "$work/vm/Virtual Machines"
for d in disk1 disk2 disk3; do
	qemu-img convert -f raw -O vhdx -o subformat=dynamic "$work/$d.img" "$work/vm/$d.vhdx"
done
# A Hyper-V 2012 R2 configuration with the three disks on IDE 0 and 1:
# without one, each disk file would be a checkpoint of its own.
id=5E1D0A00-0000-4000-8000-0000000000D1
drive() { # N FILE
	printf '<drive%d><pathname type="string">C:\\Hyper-V\\srv\\%s</pathname><type type="string">VHD</type></drive%d>' "$1" "$2" "$1"
}
{
	printf '\xff\xfe'
	{
		printf '<?xml version="1.0" encoding="UTF-16" standalone="yes"?>\n<configuration>\n'
		printf '<_83f8638b-8dca-4152-9eda-2ca8b33039b4_><controller0>%s%s</controller0><controller1>%s</controller1></_83f8638b-8dca-4152-9eda-2ca8b33039b4_>\n' \
			"$(drive 0 disk1.vhdx)" "$(drive 1 disk2.vhdx)" "$(drive 0 disk3.vhdx)"
		printf '<properties><global_id type="string">%s</global_id><name type="string">srv</name></properties>\n' $id
		printf '<settings><global><logical_id type="string">%s</logical_id></global></settings>\n</configuration>\n' $id
	} | iconv -f UTF-8 -t UTF-16LE
} >"$work/vm/Virtual Machines/$id.xml"
rm -rf "$out/vm"
mv "$work/vm" "$out/vm"
for v in 1 2 3 4 5 6 7; do mv "$work/Volume$v.img" "$work/Volume$v.files" "$out/"; done
# The disks last: the tests take disk1.img as the sign that all is built.
mv "$work/disk2.img" "$work/disk3.img" "$out/"
mv "$work/disk1.img" "$out/"
