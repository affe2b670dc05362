#!/bin/bash
# lvmspanchain.sh OUT: testdata/guest/lvmspan.sh's grown guest (its root
# logical volume over two disks; with its LUKS2 volume vault over both,
# lvmspan.sh vault) at four states, as Hyper-V keeps
# a VM with checkpoints, and what the kernel reads in each state (run as
# root: loop mounts; MKCHAIN names tools/mkchain built).
#   state 0  lvmspan.sh's disks: checkpoint "installed"
#   state 1  root rebuilt from state 0's files with changes (checkpoint
#            "updated"): /etc/hostname rewritten, note3.txt removed,
#            todo.txt and srv/new/hello.txt added, 1 MiB of one.bin
#            rewritten, /etc/fstab chmod 600; data, swap, vault untouched.
#            Both disks change (root lies on both).
#   state 2  64 KiB of root's two.bin rewritten in place where its
#            blocks lie on the second disk (pv1), under the filesystem
#            (no time or size changes): only disk b changes (checkpoint
#            "rewritten").
#   state 3  the live state: 64 KiB of data's payload.bin rewritten in
#            place alike: only disk b changes again, none of root's
#            extents.
#   OUT/vm/  grown-a.vhdx, grown-b.vhdx and three .avhdx each
#            (tools/mkchain), Virtual Machines/<id>.xml (the live state on
#            the last .avhdx of each), Snapshots/<id>.xml of "installed",
#            "updated" and "rewritten"
#   OUT/loose/  the same disk files without any configuration
#   OUT/stateN.list  the kernel's view of state N's root and data (each
#            logical volume's image put together from the disks where
#            lvs says its extents are, mounted read-only through a loop
#            device): "vol<TAB>path<TAB>type<TAB>mode<TAB>size<TAB>mtime
#            <TAB>sha256" per entry (find -printf %y %m %s %T@; sha256
#            "-" for all but regular files)
#   OUT/a-same  present when states 1, 2 and 3 of disk a are equal bytes
#            (the script checks it and fails otherwise)
# File contents, names and UUIDs are fixed; file times are those lvmspan.sh
# gave (its clock) and fixed dates for what changes.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
mkchain=${MKCHAIN:?MKCHAIN names tools/mkchain}
work=$(mktemp -d)
mnt=$work/mnt
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	rm -rf "$work"
}
trap cleanup EXIT
export TZ=UTC LC_ALL=C E2FSPROGS_FAKE_TIME=1614834368
mkdir -p "$mnt" "$out"
root_uuid=6a0d1e2f-0000-4000-8000-0000000000a1

prng() { # SEED BYTES
	{ openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$1")" -iv "$(printf '%032x' 0)" </dev/zero 2>/dev/null || true; } | head -c "$2"
}

bash "$here/lvmspan.sh" "$work/s0" vault >/dev/null
segs=$work/s0/lvs.txt # "lv start count pv:first-last", pv a or b

# Extent e of a's physical volume (partition 1, at 1 MiB) is at 2 MiB +
# 4 MiB * e of a.img; of b's (the whole disk) at 1 MiB + 4 MiB * e.
pvbase() { case $1 in a) echo 2 ;; b) echo 1 ;; esac; }
lvimage() { # STATE LV OUT: the logical volume put together from the disks
	rm -f "$3"
	while read -r name start count range; do
		[ "$name" = "$2" ] || continue
		pv=${range%%:*} first=${range#*:}
		first=${first%-*}
		dd if="$1/$pv.img" of="$3" bs=1M skip=$(($(pvbase "$pv") + 4 * first)) seek=$((4 * start)) count=$((4 * count)) \
			conv=notrunc,sparse status=none
	done <"$segs"
}
lvsplit() { # IMG STATE LV: the logical volume written back onto the disks
	while read -r name start count range; do
		[ "$name" = "$3" ] || continue
		pv=${range%%:*} first=${range#*:}
		first=${first%-*}
		dd if="$1" of="$2/$pv.img" bs=1M skip=$((4 * start)) seek=$(($(pvbase "$pv") + 4 * first)) count=$((4 * count)) \
			conv=notrunc,sparse status=none
	done <"$segs"
}
list() { # STATE N: the kernel's view of root and data
	for lv in root data; do
		lvimage "$1" $lv "$work/$lv.img"
		mount -o ro,loop,noload -t ext4 "$work/$lv.img" "$mnt"
		(cd "$mnt" && find . -mindepth 1 -printf '%P\t%y\t%m\t%s\t%T@\n' | sort) | while IFS=$'\t' read -r p y m s t; do
			sum=-
			if [ "$y" = f ]; then sum=$(sha256sum <"$mnt/$p" | cut -d' ' -f1); fi
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' $lv "$p" "$y" "$m" "$s" "$t" "$sum"
		done
		umount "$mnt"
	done >"$out/state$2.list"
}

list "$work/s0" 0

# State 1: root's files as the kernel reads them in state 0, changed, in
# a filesystem made anew (mkfs.ext4 -d keeps the files' times and modes).
mkdir -p "$work/s1"
cp --sparse=always "$work/s0/a.img" "$work/s0/b.img" "$work/s1/"
lvimage "$work/s0" root "$work/root0.img"
mount -o ro,loop,noload -t ext4 "$work/root0.img" "$mnt"
t=$work/t1
cp -a "$mnt" "$t"
umount "$mnt"
rm -rf "$t/lost+found"
printf 'grown-updated\n' >"$t/etc/hostname"
rm "$t/home/admin/note3.txt"
printf 'resize the data volume\n' >"$t/home/admin/todo.txt"
mkdir "$t/srv/new"
printf 'hello\n' >"$t/srv/new/hello.txt"
prng 11 $((1 << 20)) | dd of="$t/srv/big/one.bin" bs=1M seek=9 conv=notrunc status=none
chmod 600 "$t/etc/fstab"
touch -d '2026-12-01 08:00:00' "$t/etc/hostname" "$t/home/admin/todo.txt" "$t/srv/new/hello.txt" "$t/srv/new" \
	"$t/srv/big/one.bin" "$t/home/admin" "$t/srv"
mkfs.ext4 -q -F -U $root_uuid -L root -E root_owner=0:0 -d "$t" "$work/root1.img" 64M >/dev/null
lvsplit "$work/root1.img" "$work/s1" root
list "$work/s1" 1

# State 2: 64 KiB of two.bin rewritten where its blocks lie past root's
# first 40 MiB (pv0's part), that is on pv1, on disk b.
mkdir -p "$work/s2"
cp --sparse=always "$work/s1/a.img" "$work/s1/b.img" "$work/s2/"
bs=$(dumpe2fs -h "$work/root1.img" 2>/dev/null | awk -F: '/^Block size/ {print $2+0}')
# The first 64 KiB-aligned run of 64 KiB of two.bin's blocks past 44 MiB.
at=$(debugfs -R "blocks /srv/big/two.bin" "$work/root1.img" 2>/dev/null | tr ' ' '\n' | awk -v bs="$bs" '
	NF { b = $1 + 0; if (b == prev + 1 && n > 0) n++; else n = 1; if (n == 1) first = b; prev = b
	     # restart the run at an aligned block
	     if (b * bs % 65536 == 0) { first = b; n = 1 }
	     if (first * bs >= 44 * 1048576 && n * bs == 65536) { print first * bs; exit } }') || true # tr dies of SIGPIPE
[ -n "$at" ] || { echo "no 64 KiB run of two.bin past 44 MiB" >&2; exit 1; }
cp "$work/root1.img" "$work/root2.img"
prng 12 65536 | dd of="$work/root2.img" bs=64K seek=$((at / 65536)) conv=notrunc status=none
lvsplit "$work/root2.img" "$work/s2" root
list "$work/s2" 2

# State 3: 64 KiB of data's payload.bin rewritten in place.
mkdir -p "$work/s3"
cp --sparse=always "$work/s2/a.img" "$work/s2/b.img" "$work/s3/"
lvimage "$work/s2" data "$work/data2.img"
bs=$(dumpe2fs -h "$work/data2.img" 2>/dev/null | awk -F: '/^Block size/ {print $2+0}')
at=$(debugfs -R "blocks /payload.bin" "$work/data2.img" 2>/dev/null | tr ' ' '\n' | awk -v bs="$bs" '
	NF { b = $1 + 0; if (b == prev + 1 && n > 0) n++; else n = 1; if (n == 1) first = b; prev = b
	     if (b * bs % 65536 == 0) { first = b; n = 1 }
	     if (first * bs >= 1048576 && n * bs == 65536) { print first * bs; exit } }') || true # tr dies of SIGPIPE
[ -n "$at" ] || { echo "no 64 KiB run of payload.bin past 1 MiB" >&2; exit 1; }
prng 13 65536 | dd of="$work/data2.img" bs=64K seek=$((at / 65536)) conv=notrunc status=none
lvsplit "$work/data2.img" "$work/s3" data
list "$work/s3" 3
for n in 2 3; do
	cmp -s "$work/s1/a.img" "$work/s$n/a.img" || { echo "state $n changed disk a" >&2; exit 1; }
done
touch "$out/a-same"

# The chains and the VM's configuration.
vm=$out/vm
rm -rf "$vm" "$out/loose"
mkdir -p "$vm/Virtual Machines" "$vm/Snapshots"
mapfile -t fa < <("$mkchain" -o "$vm" -name grown-a -seed grown-a "$work"/s{0,1,2,3}/a.img)
mapfile -t fb < <("$mkchain" -o "$vm" -name grown-b -seed grown-b "$work"/s{0,1,2,3}/b.img)
id=6A0D1E2F-0000-4000-8000-00000000A11D
s1=6A0D1E2F-0000-4000-8000-0000000005A1
s2=6A0D1E2F-0000-4000-8000-0000000005A2
s3=6A0D1E2F-0000-4000-8000-0000000005A3
config() { # GLOBAL_ID NAME PARENT FILE_A FILE_B
	drive() { printf '<drive%d><pathname type="string">C:\\Hyper-V\\grown\\%s</pathname><type type="string">VHD</type></drive%d>' "$1" "$2" "$1"; }
	printf '\xff\xfe'
	{
		printf '<?xml version="1.0" encoding="UTF-16" standalone="yes"?>\n<configuration>\n'
		printf '<_83f8638b-8dca-4152-9eda-2ca8b33039b4_><controller0>%s%s</controller0></_83f8638b-8dca-4152-9eda-2ca8b33039b4_>\n' \
			"$(drive 0 "$(basename "$4")")" "$(drive 1 "$(basename "$5")")"
		printf '<properties><global_id type="string">%s</global_id><name type="string">%s</name>' "$1" "$2"
		if [ -n "$3" ]; then printf '<parent_snapshot_id type="string">%s</parent_snapshot_id>' "$3"; fi
		printf '</properties>\n<settings><global><logical_id type="string">%s</logical_id></global></settings>\n</configuration>\n' $id
	} | iconv -f UTF-8 -t UTF-16LE
}
config $s1 installed "" "${fa[0]}" "${fb[0]}" >"$vm/Snapshots/$s1.xml"
config $s2 updated $s1 "${fa[1]}" "${fb[1]}" >"$vm/Snapshots/$s2.xml"
config $s3 rewritten $s2 "${fa[2]}" "${fb[2]}" >"$vm/Snapshots/$s3.xml"
config $id grown $s3 "${fa[3]}" "${fb[3]}" >"$vm/Virtual Machines/$id.xml"
mkdir -p "$out/loose"
for f in "${fa[@]}" "${fb[@]}"; do cp --sparse=always "$f" "$out/loose/"; done
# Without configuration, checkpoints are ordered by the files' times.
i=0
for f in "${fa[@]}"; do
	touch -d "2026-12-0$((i + 1)) 12:00:00" "$out/loose/$(basename "$f")" "$out/loose/$(basename "${fb[$i]}")"
	i=$((i + 1))
done
