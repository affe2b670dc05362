#!/bin/bash
# multidev.sh OUT: btrfs filesystems over several devices, written by the
# kernel through loop devices (run as root), and the kernel's read-only
# view of each, whole and degraded (devices left out), for package btrfs
# to compare with.
#   OUT/NAME-K.img   device K (devid K) of filesystem NAME, raw
#   OUT/cases.txt    "NAME DEVICES" per filesystem
#   OUT/NAME.list    the kernel's view of NAME mounted ro with all devices
#   OUT/NAME-without-K[,L].list   the same mounted ro,degraded without
#                    devices K (and L); files the kernel cannot read have
#                    the sum "EIO"
# A list line is find -printf '%P %y %m %U %G %s %n %i %T@ %C@ %A@' with
# tabs, then the sha256 of a regular file's bytes ("-" for others).
# The filesystems:
#   grown    single data, metadata DUP on device 1; then `btrfs device
#            add` of a larger device 2, metadata balanced to RAID1, more
#            files written (after/, with a 24 MiB one: new data chunks,
#            on device 2, the emptier one)
#   raid0    data and metadata RAID0 over 3 devices
#   raid1    data and metadata RAID1 over 2
#   raid10   data RAID10, metadata RAID1C4 over 4
#   raid5    data and metadata RAID5 over 3
#   raid6    data and metadata RAID6 over 4
#   raid1c3  data and metadata RAID1C3 over 3
# Each holds the same files: small and inline ones, a hard link, a
# symlink, zstd-compressed text, a 3 MiB random file, a fragmented one
# (every fourth 4 KiB block rewritten in 8 flushes) and a sparse one.
# The fsids (f3b1c2d4-...) are this script's own: the kernel refuses two
# filesystems of one fsid at once. File bytes and times are fixed; what
# the kernel lays out (and ctimes) may differ between runs.
# Tools: mkfs.btrfs, btrfs, losetup, mount, openssl, sha256sum.
set -euo pipefail
# Fixed fsids: two checkouts building at once take turns machine-wide, as
# logged.sh does (the kernel refuses a second device of a mounted fsid).
exec 9>/tmp/ckptfs-btrfs-fixed-fsid.lock
flock 9
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)
mnt=$(mktemp -d)
loops=()
# The kernel remembers the devices of a multi-device filesystem it saw
# (mkfs, mount): a stale one of the same fsid makes the next mount a
# "cloned temp-fsid" one or picks the wrong device, so every detach makes
# it forget the devices no mount holds.
detach() {
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	loops=()
	btrfs device scan --forget 2>/dev/null || true
}
cleanup() {
	for _ in 1 2 3 4 5; do
		mountpoint -q "$mnt" || break
		umount "$mnt" 2>/dev/null || sleep 1
	done
	if mountpoint -q "$mnt"; then umount -l "$mnt" || true; fi
	detach
	rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT
export TZ=UTC LC_ALL=C

rnd() { { openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$2")" -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null || true; } | head -c "$1"; }
txt() { { seq "$2" 1000000 | sed 's/$/ the quick brown fox jumps over the lazy dog/' || true; } | head -c "$1"; }
T='2022-05-06 07:08:09.123456789'

attach() { # NAME K... [ro]: loop devices of those devices, in $loops
	local name=$1 ro=; shift
	[ "${!#}" = ro ] && ro=--read-only
	for k in "$@"; do
		[ "$k" = ro ] && continue
		loops+=("$(losetup --find --show $ro "$out/$name-$k.img")")
	done
}
devopts() { local o= l; for l in "${loops[@]}"; do o+=,device=$l; done; echo "${o#,}"; }

files() { # DIR SEED
	local d=$1 s=$2
	mkdir -p "$d/small" "$d/zstd"
	for i in $(seq 1 40); do printf 'small file %d of %d\n' "$i" "$s" >"$d/small/f$i"; done
	rnd 3000 $((s + 1)) >"$d/inline3000"
	rnd $((3 << 20 | 123)) $((s + 2)) >"$d/random3m"
	ln "$d/inline3000" "$d/small/hardlink"
	ln -s random3m "$d/symlink"
	truncate -s 4M "$d/sparse"
	rnd 70000 $((s + 3)) | dd of="$d/sparse" bs=4096 seek=300 conv=notrunc status=none
	chown 1000:1001 "$d/sparse"; chmod 640 "$d/sparse"
	rnd $((2 << 20)) $((s + 4)) >"$d/fragmented"; sync
	for pass in $(seq 0 7); do
		for j in $(seq 0 15); do
			blk=$(( (pass * 16 + j) * 4 ))
			rnd 4096 $((s + 1000 + blk)) | dd of="$d/fragmented" bs=4096 seek=$blk conv=notrunc status=none
		done
		sync
	done
	touch -h -d "$T" "$d/inline3000" "$d/symlink" "$d/small" "$d/random3m"
}
zfiles() { # DIR SEED, mounted with compress-force=zstd
	txt 600000 "$2" >"$1/zstd/text"
	txt 2000 $(($2 + 1)) >"$1/zstd/inline-text"
	{ txt 100000 $(($2 + 2)); rnd 50000 $(($2 + 3)); } >"$1/zstd/mixed"
	touch -d "$T" "$1/zstd/text"
}

list() { # LISTNAME: the mounted filesystem at $mnt
	(cd "$mnt" && find . -mindepth 1 -printf '%P\t%y\t%m\t%U\t%G\t%s\t%n\t%i\t%T@\t%C@\t%A@\n' | sort) |
		while IFS= read -r line; do
			p=${line%%	*}
			sum=-
			if [ -f "$mnt/$p" ] && [ ! -L "$mnt/$p" ]; then
				sum=$(sha256sum <"$mnt/$p" 2>/dev/null | cut -d' ' -f1) || sum=EIO
				[ -n "$sum" ] || sum=EIO
			fi
			printf '%s\t%s\n' "$line" "$sum"
		done >"$out/$1.list"
}

oracle() { # NAME N [MISSING...]: list NAME mounted ro with all but MISSING
	local name=$1 n=$2; shift 2
	local keep=() k m skip lname=$name opt=ro
	for k in $(seq 1 "$n"); do
		skip=
		for m in "$@"; do [ "$k" = "$m" ] && skip=1; done
		[ -z "$skip" ] && keep+=("$k")
	done
	if [ $# -gt 0 ]; then
		lname=$name-without-$(IFS=,; echo "$*")
		opt=ro,degraded
	fi
	attach "$name" "${keep[@]}" ro
	mount -t btrfs -o "$opt,$(devopts)" "${loops[0]}" "$mnt"
	list "$lname"
	umount "$mnt"
	detach
}

mkmulti() { # NAME N SIZE FSID MKFS-ARGS...
	local name=$1 n=$2 size=$3 fsid=$4; shift 4
	local k
	for k in $(seq 1 "$n"); do
		rm -f "$out/$name-$k.img"
		truncate -s "$size" "$out/$name-$k.img"
	done
	attach "$name" $(seq 1 "$n")
	mkfs.btrfs -q -f -K -U "$fsid" -L "$name" "$@" "${loops[@]}" >/dev/null 2>&1
	mount -t btrfs -o "$(devopts)" "${loops[0]}" "$mnt"
	files "$mnt" 10
	umount "$mnt"
	mount -t btrfs -o "compress-force=zstd,$(devopts)" "${loops[0]}" "$mnt"
	zfiles "$mnt" 20
	umount "$mnt"
	detach
	echo "$name $n" >>"$out/cases.txt"
}

rm -f "$out"/*.img "$out"/*.list "$out/cases.txt"
btrfs device scan --forget 2>/dev/null || true

# grown: one device first, then a second one added.
truncate -s 160M "$out/grown-1.img"
truncate -s 256M "$out/grown-2.img"
attach grown 1
mkfs.btrfs -q -f -K -U f3b1c2d4-0001-4000-8000-000000000001 -L grown -d single -m dup "${loops[0]}" >/dev/null
mount -t btrfs "${loops[0]}" "$mnt"
files "$mnt" 10
attach grown 2
btrfs device add -K -f "${loops[1]}" "$mnt"
btrfs balance start -f -mconvert=raid1 -sconvert=raid1 "$mnt" >/dev/null
mkdir "$mnt/after"
files "$mnt/after" 30
rnd $((24 << 20)) 40 >"$mnt/after/big"
umount "$mnt"
mount -t btrfs -o "compress-force=zstd,$(devopts)" "${loops[0]}" "$mnt"
zfiles "$mnt" 20
umount "$mnt"
detach
echo "grown 2" >>"$out/cases.txt"

mkmulti raid0 3 128M f3b1c2d4-0002-4000-8000-000000000002 -d raid0 -m raid0
mkmulti raid1 2 128M f3b1c2d4-0003-4000-8000-000000000003 -d raid1 -m raid1
mkmulti raid10 4 128M f3b1c2d4-0004-4000-8000-000000000004 -d raid10 -m raid1c4
mkmulti raid5 3 128M f3b1c2d4-0005-4000-8000-000000000005 -d raid5 -m raid5
mkmulti raid6 4 128M f3b1c2d4-0006-4000-8000-000000000006 -d raid6 -m raid6
mkmulti raid1c3 3 128M f3b1c2d4-0007-4000-8000-000000000007 -d raid1c3 -m raid1c3

while read -r name n; do oracle "$name" "$n"; done <"$out/cases.txt"
oracle grown 2 2
oracle raid1 2 1
oracle raid10 4 3
oracle raid5 3 1
oracle raid5 3 3
oracle raid6 4 2
oracle raid6 4 1 3
oracle raid1c3 3 1 2
