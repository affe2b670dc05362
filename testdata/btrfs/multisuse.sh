#!/bin/bash
# multisuse.sh OUT: an openSUSE-like btrfs filesystem over two devices
# (data and metadata RAID1), whose default subvolume is a snapshot
# (@/.snapshots/1/snapshot), written by the kernel through loop devices
# (run as root).
#   OUT/suse-1.img, OUT/suse-2.img  devices 1 and 2, raw
#   OUT/default.list, OUT/top.list  the kernel's view of the default
#       subvolume and of the top level (subvolid=5), in multidev.sh's list
#       format
#   OUT/stale-1.img, OUT/stale-2.img  RAID1 over two devices, then
#       mounted degraded without device 2 and written to: device 2 is
#       stale (an older generation)
#   OUT/stale.list  the kernel's view of both devices, read-only
# The fsids (f3b1c2d4-0009-..., f3b1c2d4-000a-...) are this script's own.
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
detach() {
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	loops=()
	btrfs device scan --forget 2>/dev/null || true # see multidev.sh
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
attach() { # [ro] [NAME] [K...]
	local ro= name=suse ks=(1 2)
	[ "${1:-}" = ro ] && ro=--read-only
	[ -n "${2:-}" ] && name=$2
	[ $# -gt 2 ] && ks=("${@:3}")
	for k in "${ks[@]}"; do loops+=("$(losetup --find --show $ro "$out/$name-$k.img")"); done
}
devopts() { local o= l; for l in "${loops[@]}"; do o+=,device=$l; done; echo "${o#,}"; }
list() { # NAME
	(cd "$mnt" && find . -mindepth 1 -printf '%P\t%y\t%m\t%U\t%G\t%s\t%n\t%i\t%T@\t%C@\t%A@\n' | sort) |
		while IFS= read -r line; do
			p=${line%%	*}
			sum=-
			if [ -f "$mnt/$p" ] && [ ! -L "$mnt/$p" ]; then sum=$(sha256sum <"$mnt/$p" | cut -d' ' -f1); fi
			printf '%s\t%s\n' "$line" "$sum"
		done >"$out/$1.list"
}

btrfs device scan --forget 2>/dev/null || true
for k in 1 2; do rm -f "$out/suse-$k.img"; truncate -s 128M "$out/suse-$k.img"; done
attach
mkfs.btrfs -q -f -K -U f3b1c2d4-0009-4000-8000-000000000009 -L suse -d raid1 -m raid1 "${loops[@]}" >/dev/null
mount -t btrfs -o "$(devopts)" "${loops[0]}" "$mnt"
btrfs subvolume create "$mnt/@" >/dev/null
mkdir -p "$mnt/@/etc" "$mnt/@/.snapshots/1"
printf 'NAME="openSUSE Leap"\nVERSION_ID="15.6"\nID=opensuse-leap\n' >"$mnt/@/etc/os-release"
btrfs subvolume create "$mnt/@/home" >/dev/null
rnd 3000000 1 >"$mnt/@/home/big.bin"
btrfs subvolume snapshot "$mnt/@" "$mnt/@/.snapshots/1/snapshot" >/dev/null
printf 'in the snapshot\n' >"$mnt/@/.snapshots/1/snapshot/etc/motd"
rnd 2000000 2 >"$mnt/@/.snapshots/1/snapshot/etc/blob.bin"
btrfs subvolume set-default "$(btrfs subvolume show "$mnt/@/.snapshots/1/snapshot" | awk '/Subvolume ID:/ {print $3}')" "$mnt"
umount "$mnt"
detach
attach ro
mount -t btrfs -o "ro,$(devopts)" "${loops[0]}" "$mnt"
list default
umount "$mnt"
mount -t btrfs -o "ro,subvolid=5,$(devopts)" "${loops[0]}" "$mnt"
list top
umount "$mnt"
detach

# stale: device 2 misses the commits of a degraded mount.
for k in 1 2; do rm -f "$out/stale-$k.img"; truncate -s 128M "$out/stale-$k.img"; done
attach rw stale
mkfs.btrfs -q -f -K -U f3b1c2d4-000a-4000-8000-00000000000a -L stale -d raid1 -m raid1 "${loops[@]}" >/dev/null
mount -t btrfs -o "$(devopts)" "${loops[0]}" "$mnt"
mkdir "$mnt/d"
for i in $(seq 1 20); do printf 'file %d before\n' "$i" >"$mnt/d/f$i"; done
rnd 1000000 3 >"$mnt/d/big.bin"
umount "$mnt"
detach
attach rw stale 1
mount -t btrfs -o "degraded,$(devopts)" "${loops[0]}" "$mnt"
for i in $(seq 1 10); do printf 'file %d after\n' "$i" >"$mnt/d/f$i"; done
rm "$mnt/d/f20"
rnd 500000 4 | dd of="$mnt/d/big.bin" bs=4096 seek=10 conv=notrunc status=none
rnd 300000 5 >"$mnt/d/new.bin"
umount "$mnt"
detach
attach ro stale
mount -t btrfs -o "ro,$(devopts)" "${loops[0]}" "$mnt"
list stale
umount "$mnt"
detach
