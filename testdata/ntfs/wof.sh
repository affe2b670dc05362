#!/bin/bash
# wof.sh IMG STAGE [SIZE]: writes an NTFS volume holding Windows Overlay Filter
# ("system compression") files the way Windows lays them out, from streams
# prepared by the Go test (ntfs/wof_test.go) with wimlib's compressors.
#
# STAGE/<dir>/reparse.hex   the reparse point (tag 0x80000017) of its files
# STAGE/<dir>/<name>.size   the uncompressed size of <name>
# STAGE/<dir>/<name>.wof    its WofCompressedData stream
#
# Each file gets an unnamed data stream of its size that is all hole, the
# stream through ntfs-3g's streams_interface=windows, and the reparse point
# through system.ntfs_reparse_data (set last: ntfs-3g will not open the
# file for writing afterwards).
set -euo pipefail
. "$(dirname "$0")/../lib/unmount.sh"
img=$1
stage=$2
rm -f "$img"
truncate -s "${3:-64M}" "$img"
mkntfs -q -F -Q -L wof "$img" >/dev/null
mnt=$(mktemp -d)
ntfs-3g -o streams_interface=windows "$img" "$mnt"
trap 'fuse_unmount "$mnt" "$img" || umount "$mnt"; rmdir "$mnt"' EXIT
for d in "$stage"/*/; do
	dir=$(basename "$d")
	mkdir "$mnt/$dir"
	hex=$(cat "$d/reparse.hex")
	for s in "$d"/*.size; do
		name=$(basename "$s" .size)
		f="$mnt/$dir/$name"
		truncate -s "$(cat "$s")" "$f"
		cat "$d/$name.wof" >"$f:WofCompressedData"
		setfattr -h -n system.ntfs_reparse_data -v "0x$hex" "$f"
	done
done
# A file of a Data Deduplication volume: its content would be in the chunk
# store (tag 0x80000013, 8 bytes of reparse data).
mkdir "$mnt/dedup"
printf 'x' >"$mnt/dedup/file.txt"
setfattr -h -n system.ntfs_reparse_data -v "0x130000800800000001000000deadbeef" "$mnt/dedup/file.txt"
