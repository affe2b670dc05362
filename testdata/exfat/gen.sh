#!/bin/bash
# gen.sh OUT VARIANT: builds one exFAT test image, OUT/VARIANT.img, by
# formatting it with mkfs.exfat (exfatprogs), fixing its volume serial
# with tune.exfat, mounting it read-write with mount.exfat-fuse and
# writing the tree of populate.sh through it. fsck.exfat must call the
# result clean. Deterministic: fixed serial and label, content from seq,
# every modification and access time set by touch -d; only the creation
# times are those of the build (exfat-fuse sets them when it creates a
# file and nothing can change them).
#
#   c512   64 MiB, 512-byte clusters (many chains, multi-cluster directories)
#   c4k    64 MiB, 4 KiB clusters
#   c128k  128 MiB, 128 KiB clusters (the 1000+ entry folder in few clusters)
#   tz     c4k written with TZ=Asia/Kolkata: times carry a UTC offset of +05:30
#   tiny   256 KiB, 512-byte clusters, a few files: the fuzz seed
set -eu
out=$1
variant=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
img=$out/$variant.img
tmp=$img.tmp
rm -f "$tmp"
export LC_ALL=C.UTF-8 TZ=UTC
size=64M
case $variant in
c512) opts=(-c 512) ;;
c4k) opts=(-c 4K) ;;
c128k) opts=(-c 128K); size=128M ;;
tz) opts=(-c 4K); export TZ=Asia/Kolkata ;;
tiny) opts=(-c 512 -b 4K); size=256K ;;
*) echo "unknown variant $variant" >&2; exit 2 ;;
esac
truncate -s "$size" "$tmp"
mkfs.exfat -L "CKPT-$variant" "${opts[@]}" "$tmp" >/dev/null
tune.exfat -I 0x1c2d3e4f "$tmp" >/dev/null
mnt=$(mktemp -d)
# As root exfat-fuse asks FUSE for a block device (fuseblk): a loop device.
dev=$(losetup -f --show "$tmp")
trap 'fusermount -u "$mnt" 2>/dev/null || true; losetup -d "$dev" 2>/dev/null || true; rmdir "$mnt" 2>/dev/null || true' EXIT
mount.exfat-fuse -o rw "$dev" "$mnt" >/dev/null
if [ "$variant" = tiny ]; then
	bash "$here/populate.sh" "$mnt" tiny
else
	bash "$here/populate.sh" "$mnt" full
fi
fusermount -u "$mnt"
losetup -d "$dev"
fsck.exfat -n "$tmp" >"$tmp.fsck" 2>&1 || { cat "$tmp.fsck" >&2; exit 1; }
rm -f "$tmp.fsck"
mv "$tmp" "$img"
