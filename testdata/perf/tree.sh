#!/bin/bash
# tree.sh OUTDIR ntfs|ext4: the volumes the tree-walk benchmarks of
# scripts/bench.sh read: 20 folders of 50 folders of 50 files (50,000
# files, 51,021 entries with the folders) of 1 to 6,000 bytes, the shape
# of a user profile, a web root or a mailbox.
#   ntfs: OUTDIR/tree-ntfs.img, 600 MiB, written through ntfs-3g as a
#         Windows-made volume would be through Windows (needs /dev/fuse);
#   ext4: OUTDIR/tree-ext4.img, 400 MiB, made by mkfs.ext4 -d (no root).
# Contents are fixed (file i holds its own path and a slice of one
# pattern), so both volumes hold the same bytes. An image already built by
# this version of the script (IMG.stamp holds the script's hash; a
# checkout's new mtime does not count) is kept: the NTFS one takes minutes.
set -euo pipefail
. "$(dirname "$0")/../lib/unmount.sh"
out=${1:?usage: $0 OUTDIR ntfs|ext4}
what=${2:?usage: $0 OUTDIR ntfs|ext4}
mkdir -p "$out"

# populate DIR: builtins only, so it takes seconds, not a fork per file.
populate() {
	local big a b f n
	big=$(for i in $(seq 1 800); do printf '%07d\n' "$i"; done)
	for a in $(seq -w 0 19); do
		mkdir "$1/d$a"
		for b in $(seq -w 0 49); do
			mkdir "$1/d$a/s$b"
			for f in $(seq -w 0 49); do
				n=$(( (10#$a * 2500 + 10#$b * 50 + 10#$f) * 7919 % 6000 ))
				printf 'd%s/s%s/f%s\n%.*s' "$a" "$b" "$f" "$n" "$big" >"$1/d$a/s$b/f$f.txt"
			done
		done
	done
}

version=$(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-16)
fresh() { [ -s "$1" ] && [ "$(cat "$1.stamp" 2>/dev/null)" = "$version" ]; }

case $what in
ntfs)
	img=$out/tree-ntfs.img
	fresh "$img" && exit 0
	rm -f "$img.tmp"
	truncate -s 600M "$img.tmp"
	mkntfs -q -F -Q -c 4096 -L CkptTree "$img.tmp" >/dev/null 2>&1
	mnt=$(mktemp -d)
	trap 'fusermount3 -u "$mnt" 2>/dev/null || true; rmdir "$mnt"' EXIT
	ntfs-3g "$img.tmp" "$mnt"
	populate "$mnt"
	sync
	fuse_unmount "$mnt" "$img.tmp"
	mv "$img.tmp" "$img"
	echo "$version" >"$img.stamp"
	;;
ext4)
	img=$out/tree-ext4.img
	fresh "$img" && exit 0
	src=$(mktemp -d "$out/src.XXXXXX")
	trap 'rm -rf "$src"' EXIT
	populate "$src"
	rm -f "$img.tmp"
	mkfs.ext4 -q -F -L ckpttree -E root_owner=0:0 -d "$src" "$img.tmp" 400M >/dev/null
	mv "$img.tmp" "$img"
	echo "$version" >"$img.stamp"
	;;
*) echo "usage: $0 OUTDIR ntfs|ext4" >&2; exit 2 ;;
esac
