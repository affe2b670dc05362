#!/bin/bash
# eainode.sh IMG: a 16 MiB ext4 volume of 1 KiB blocks with the ea_inode
# feature, written through a loop mount: xattr values larger than a block
# are kept in inodes of their own (5000, 20000 and 60000 bytes, in the
# user and trusted namespaces, on a file and on a folder), beside small
# ones in the inode and in the attribute block. Must run as root.
set -eu
img=$1
m=$(mktemp -d)
truncate -s 16M "$img"
mke2fs -q -F -t ext4 -b 1024 -O ea_inode -U 0b0e0c0a-1111-4222-8333-444455556677 "$img"
dev=$(losetup -f --show "$img")
trap 'umount "$m" 2>/dev/null || true; losetup -d "$dev"; rmdir "$m"' EXIT
mount -t ext4 "$dev" "$m"
# val N C: N bytes of a pattern that changes every byte.
val() { echo "0x$(seq 0 $(($1 - 1)) | awk -v c="$2" '{printf "%02x", ($1 * 7 + c) % 256}')"; }
echo data >"$m/f"
mkdir "$m/d"
setfattr -n user.small -v tiny "$m/f"
setfattr -n user.five -v "$(val 5000 1)" "$m/f"
setfattr -n trusted.twenty -v "$(val 20000 2)" "$m/f"
setfattr -n user.big -v "$(val 60000 3)" "$m/d"
setfattr -n user.mid -v "$(val 900 4)" "$m/d"
umount "$m"
