#!/bin/bash
# gen.sh OUT FS SEED: builds OUT/FS-SEED.img, one random volume of the
# Windows-volume cross-check (internal/crosswin), and OUT/FS-SEED.ops, the
# format options and operations it was made with.
#
#   ntfs   mkntfs (random sector and cluster size), written through ntfs-3g
#          (streams_interface=xattr, compression)
#   exfat  mkfs.exfat (random cluster size), written through exfat-fuse
#   fat    mkfs.fat (random FAT type, sector and cluster size, reserved
#          sectors, FAT count), written through mtools: this kernel has
#          neither vfat nor exfat, so no kernel driver writes them
#
# winops.go picks the options and the operations from SEED; the writing
# drivers make their own allocation choices. fsck (ntfsfix -n, fsck.exfat
# -n, fsck.fat -n) must find the result clean.
set -euo pipefail
. "$(dirname "$0")/../lib/unmount.sh"
out=$1
kind=$2
seed=$3
here=$(cd "$(dirname "$0")" && pwd)
export PATH=$PATH:/usr/local/go/bin LC_ALL=C.UTF-8 TZ=UTC
mkdir -p "$out"
img=$out/$kind-$seed.img
ops=$out/$kind-$seed.ops
tmp=$img.tmp
rm -f "$tmp" "$img"
winops=$out/.winops
(cd "$here" && go build -o "$winops" winops.go ops.go targets.go)

eval "$("$winops" plan "$kind" "$seed")"
{
	echo "# $kind seed $seed: ${size} MiB, cluster $cluster"
	echo "# mkfs ${mkfs_args[*]}"
} >"$ops"
truncate -s "${size}M" "$tmp"

mnt=$(mktemp -d)
dev=
cleanup() {
	if mountpoint -q "$mnt"; then fusermount3 -u "$mnt" 2>/dev/null || fusermount -u "$mnt" 2>/dev/null || umount "$mnt" || true; fi
	[ -z "$dev" ] || losetup -d "$dev" 2>/dev/null || true
	rmdir "$mnt" 2>/dev/null || true
	rm -f "$tmp"
}
trap cleanup EXIT

quiet() { # run a formatter, showing its output only when it fails
	local o
	if ! o=$("$@" 2>&1); then
		printf '%s\n' "$o" >&2
		return 1
	fi
}

case $kind in
ntfs)
	quiet mkntfs -q -F -Q -L "cw$seed" "${mkfs_args[@]}" "$tmp"
	ntfs-3g -o streams_interface=xattr,compression "$tmp" "$mnt"
	WINOPS_CLUSTER=$cluster "$winops" run ntfs "$seed" "$mnt" >>"$ops"
	sync
	fuse_unmount "$mnt" "$tmp"
	quiet ntfsfix -n "$tmp"
	;;
exfat)
	quiet mkfs.exfat -L "cw$seed" "${mkfs_args[@]}" "$tmp"
	# As root exfat-fuse asks FUSE for a block device: a loop device.
	dev=$(losetup -f --show "$tmp")
	mount.exfat-fuse -o rw "$dev" "$mnt" >/dev/null
	WINOPS_CLUSTER=$cluster "$winops" run exfat "$seed" "$mnt" >>"$ops"
	sync
	fuse_unmount "$mnt" "$dev"
	losetup -d "$dev"
	dev=
	quiet fsck.exfat -n "$tmp"
	;;
fat)
	quiet mkfs.fat -i 1c2d3e4f -n "CW$seed" "${mkfs_args[@]}" "$tmp"
	WINOPS_CLUSTER=$cluster "$winops" run fat "$seed" "$tmp" >>"$ops"
	quiet fsck.fat -n "$tmp"
	;;
*)
	echo "unknown filesystem $kind" >&2
	exit 2
	;;
esac
mv "$tmp" "$img"
