#!/bin/sh
# Builds the disk images the guest package tests read, into testdata/out/guest
# (or the folder given as $1). Everything is deterministic: fixed GUIDs,
# volume ids, UUIDs, hash seeds and timestamps, so reruns give the same bytes.
# Tools: sgdisk (gdisk), sfdisk (fdisk), mkfs.fat + mcopy (dosfstools, mtools),
# mkfs.ext4 (e2fsprogs), mkntfs (ntfs-3g), xorriso.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../out/guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT

export TZ=UTC LC_ALL=C
export SOURCE_DATE_EPOCH=1614834368        # 2021-03-04 05:06:08 UTC, for xorriso
export E2FSPROGS_FAKE_TIME=1614834368      # mke2fs timestamps
export MTOOLS_SKIP_CHECK=1 MTOOLS_NO_VFAT=0
stamp=202103040506.08                       # even seconds: FAT keeps 2 s steps

# The file tree copied into every filesystem.
tree=$work/tree
mkdir -p "$tree/sub/deep"
printf 'hello, guest\n' >"$tree/hello.txt"
: >"$tree/empty.txt"
seq 1 20000 >"$tree/sub/numbers.txt"        # 108894 bytes: many clusters/blocks
printf 'deep\n' >"$tree/sub/deep/x.txt"
printf 'long name\n' >"$tree/Long File Name.txt"
find "$tree" -exec touch -t "$stamp" {} +
touch -t 202001020304.06 "$tree/sub/numbers.txt"

mkfat() { # mkfat IMG SIZE_KIB BITS LABEL VOLID
	rm -f "$1"
	mkfs.fat -C -F "$3" -s 1 -n "$4" -i "$5" --invariant "$1" "$2" >/dev/null
	mcopy -s -m -i "$1" "$tree"/* ::
}
mkext4() { # mkext4 IMG SIZE_KIB LABEL UUID
	rm -f "$1"
	mkfs.ext4 -q -F -b 1024 -L "$3" -U "$4" \
		-E hash_seed=6f1c3e2a-6a4b-4d41-9e2f-0123456789ab,root_owner=0:0 \
		-d "$tree" "$1" "$2k" >/dev/null
}
place() { # place DISK IMG START_SECTOR
	dd if="$2" of="$1" bs=512 seek="$3" conv=notrunc,sparse status=none
}

# GPT: FAT32 (40 MiB), ext4 (8 MiB), NTFS (8 MiB).
gpt=$out/gpt.img
rm -f "$gpt"
truncate -s 60M "$gpt"
sgdisk -o -U 11111111-2222-3333-4444-555555555555 \
	-n 1:2048:+40M -t 1:0700 -c 1:"fat part" -u 1:aaaaaaaa-0000-0000-0000-000000000001 \
	-n 2:0:+8M -t 2:8300 -c 2:linux -u 2:aaaaaaaa-0000-0000-0000-000000000002 \
	-n 3:0:+8M -t 3:0700 -c 3:ntfs -u 3:aaaaaaaa-0000-0000-0000-000000000003 \
	"$gpt" >/dev/null
mkfat "$work/p1" 40960 32 GPTFAT 0x1234abcd
mkext4 "$work/p2" 8192 gptext4 0b0e0c0a-1111-4222-8333-444455556666
rm -f "$work/p3"
truncate -s 8M "$work/p3"
mkntfs -q -Q -F -L GPTNTFS -s 512 -p 0 -H 0 -S 0 "$work/p3" >/dev/null 2>&1
place "$gpt" "$work/p1" 2048
place "$gpt" "$work/p2" $((2048 + 40 * 2048))
place "$gpt" "$work/p3" $((2048 + 48 * 2048))

# MBR: primary FAT12 (2 MiB), extended holding logical FAT16 (8 MiB) and
# logical ext4 (4 MiB).
mbr=$out/mbr.img
rm -f "$mbr"
truncate -s 20M "$mbr"
sfdisk -q "$mbr" <<'SF' >/dev/null
label: dos
label-id: 0x0c4b7f5a
start=2048, size=4096, type=1
start=6144, size=34816, type=5
start=8192, size=16384, type=6
start=26624, size=8192, type=83
SF
mkfat "$work/l1" 2048 12 MBRFAT12 0x00000c12
mkfat "$work/l5" 8192 16 MBRFAT16 0x00000f16
mkext4 "$work/l6" 4096 mbrext4 0b0e0c0a-1111-4222-8333-444455556677
place "$mbr" "$work/l1" 2048
place "$mbr" "$work/l5" 8192
place "$mbr" "$work/l6" 26624

# A FAT16 volume without a partition table.
mkfat "$out/bare-fat16.img" 16384 16 BAREFAT16 0x0000ba16

# An ISO 9660 image with Rock Ridge and Joliet.
rm -f "$out/cd.iso"
xorriso -as mkisofs -quiet -R -J -V CKPTISO -o "$out/cd.iso" "$tree" 2>/dev/null

touch "$out/.done"
