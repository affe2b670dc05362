#!/bin/bash
# gen.sh OUT VARIANT: builds one ext test image, OUT/VARIANT.img, by
# formatting it with mke2fs, loop-mounting it and writing the tree of
# populate.sh through the kernel (so every structure is as Linux lays it
# out). Must run as root. Fixed UUIDs and hash seeds; content is
# deterministic, times are not all (ctime is when the script ran).
set -eu
out=$1
variant=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
img=$out/$variant.img
tmp=$img.tmp
rm -f "$tmp"
ext="-U 0b0e0c0a-1111-4222-8333-444455556666 -E hash_seed=6f1c3e2a-6a4b-4d41-9e2f-0123456789ab,root_owner=0:0"

case $variant in
# The defaults of today's mke2fs: extents, 64bit, metadata_csum,
# flex_bg, huge_file, dir_index, 256-byte inodes, 4 KiB blocks.
ext4) type=ext4; opts=(-b 4096) ;;
# 1 KiB blocks (several groups, deeper maps), inline data, htree hashes
# of unsigned chars (as mke2fs makes them on ARM).
ext4-inline) type=ext4; opts=(-b 1024 -O inline_data); flags=2 ;;
# Block maps with indirect blocks, a journal; htrees hashed with TEA.
ext3) type=ext3; opts=(-b 1024); hash=tea ;;
# Block maps; htrees hashed with the legacy hash.
ext2) type=ext2; opts=(-b 4096); hash=legacy ;;
# 128-byte inodes: no nanoseconds, no creation time, no in-inode xattrs.
ext2-small) type=ext2; opts=(-b 1024 -I 128) ;;
# RHEL 7's ext4: 32-byte group descriptors (no 64bit), no metadata_csum.
ext4-rhel7) type=ext4; opts=(-b 4096 -O ^64bit,^metadata_csum) ;;
# bigalloc: blocks allocated in 16 KiB clusters.
ext4-bigalloc) type=ext4; opts=(-b 4096 -O bigalloc -C 16384) ;;
*) echo "unknown variant $variant" >&2; exit 2 ;;
esac

truncate -s 64M "$tmp"
# shellcheck disable=SC2086
mke2fs -q -F -t "$type" -L "$variant" $ext "${opts[@]}" "$tmp"
[ -z "${hash:-}" ] || tune2fs -E hash_alg=$hash "$tmp" >/dev/null
[ -z "${flags:-}" ] || debugfs -w -R "ssv flags $flags" "$tmp" >/dev/null 2>&1
mnt=$(mktemp -d)
dev=$(losetup -f --show "$tmp")
trap 'umount "$mnt" 2>/dev/null || true; losetup -d "$dev" 2>/dev/null || true; rmdir "$mnt"' EXIT
mount -t "$type" "$dev" "$mnt"
bash "$here/populate.sh" "$mnt"
umount "$mnt"
losetup -d "$dev"
rmdir "$mnt"
trap - EXIT
mv "$tmp" "$img"
