#!/usr/bin/env bash
# gen.sh builds the raw disk states used by the diff package tests.
#
#   testdata/diff/gen.sh [OUTDIR]
#
# Each state is a whole GPT disk (sgdisk) with one NTFS partition (mkntfs)
# filled through an ntfs-3g mount, so this needs root or a user allowed to
# mount FUSE. The Go tests turn the states into a VHDX chain by writing
# only the changed sectors of each state into a new differencing layer.
#
#   state0.img  the base: files, a stream, a directory tree, a large file
#   state1.img  state0 after: create, delete, rewrite in place, append,
#               rename, move to another directory, stream change, a
#               directory tree removed, attribute change
#   state2.img  state1 after: one new file and a touched mtime (the tests
#               also rewrite big.bin's sectors with the same bytes here)
#   stateN.manifest  what ntfs-3g (read-only mount) says about every entry:
#               path, type, size, mtime, ctime, atime, inode, content hash,
#               named streams hash, attributes, creation time
set -euo pipefail
. "$(dirname "$0")/../lib/unmount.sh"

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../out/diff}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# gen.sh OUT linux FS, gen.sh OUT bench FS: the ext4 or XFS states of
# linux.sh or bench.sh instead.
case ${2:-} in
linux | bench) exec bash "$here/$2.sh" "$out" "$3" ;;
esac

disk_mib=48
part_start=2048 # sectors: the partition starts at 1 MiB
mnt=$(mktemp -d)
vol=$out/vol.tmp
cleanup() {
	cd /
	if mountpoint -q "$mnt"; then fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" || true; fi
	rmdir "$mnt" 2>/dev/null || true
	rm -f "$vol"
}
trap cleanup EXIT

# bytes SEED COUNT prints COUNT deterministic pseudo-random bytes.
bytes() {
	(set +o pipefail; openssl enc -aes-128-ctr -nosalt -pass "pass:$1" -pbkdf2 -iter 1 </dev/zero 2>/dev/null | head -c "$2")
}

mountrw() { ntfs-3g -o streams_interface=xattr,noatime "$vol" "$mnt"; }
umountvol() { sync; fuse_unmount "$mnt" "$vol"; }

# snapshot N writes the volume into a fresh GPT disk image stateN.img and
# records its manifest.
snapshot() {
	local img=$out/state$1.img
	rm -f "$img"
	truncate -s "${disk_mib}M" "$img"
	sgdisk -o -n "1:$part_start:-34" -t 1:0700 -c 1:data -u 1:6F0C8C4E-5B3A-4D1E-9A2B-3C4D5E6F7A8B \
		-U 9B6C2E1A-1111-4222-8333-944455556666 "$img" >/dev/null
	dd if="$vol" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
	ntfs-3g -o ro,streams_interface=xattr "$vol" "$mnt"
	manifest >"$out/state$1.manifest"
	umountvol
}

# manifest prints one tab-separated line per entry below the mount.
manifest() {
	set +o pipefail # getfattr and grep fail on entries without the attribute
	(cd "$mnt" && find . -mindepth 1 -printf '%P\t%y\t%s\t%T@\t%C@\t%A@\t%i\n' | LC_ALL=C sort) |
		while IFS=$'\t' read -r p y s mt ct at ino; do
			local h=- st attr crt
			if [ "$y" = f ]; then h=$(sha256sum <"$mnt/$p" | cut -c1-16); fi
			st=$(getfattr -h -d -m '^user\.' -e hex "$mnt/$p" 2>/dev/null | grep -v '^#' | sha256sum | cut -c1-16 || true)
			attr=$(getfattr -h --only-values -n system.ntfs_attrib_be "$mnt/$p" 2>/dev/null | od -An -tx1 | tr -d ' \n' || true)
			crt=$(getfattr -h --only-values -n system.ntfs_crtime_be "$mnt/$p" 2>/dev/null | od -An -tx1 | tr -d ' \n' || true)
			[ "$y" = d ] && s=- # a directory's size is its index's, not compared
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$y" "$s" "$mt" "$ct" "$at" "$ino" "$h" "$st" "$attr" "$crt"
		done
	set -o pipefail
}

# state 0
truncate -s $((disk_mib - 2))M "$vol"
mkntfs -q -F -Q -s 512 -c 4096 -L DiffTest "$vol"
mountrw
cd "$mnt"
printf 'unchanged\n' >keep.txt
bytes rewrite 100000 >rewrite.bin
bytes log 30000 >append.log
printf 'old name\n' >rename-me.txt
mkdir -p docs archive
printf 'moving\n' >docs/move-me.txt
printf 'deleted\n' >delete-me.txt
printf 'main\n' >streams.txt
setfattr -n user.note -v "first note" streams.txt
setfattr -n user.keep -v "kept note" streams.txt
mkdir -p tree/a/b tree/c
for i in 1 2 3; do printf 'tree %d\n' "$i" >"tree/a/f$i.txt"; done
bytes treebig 50000 >tree/a/b/big.bin
printf 'c\n' >tree/c/file.txt
bytes big 8000000 >big.bin
printf 'attr\n' >attr.txt
printf 'touched\n' >touch.txt
cd /
umountvol
snapshot 0

# state 1
mountrw
cd "$mnt"
printf 'brand new\n' >new.txt
rm delete-me.txt
bytes rewrite2 4096 | dd of=rewrite.bin bs=4096 seek=5 conv=notrunc status=none
bytes log2 5000 >>append.log
mv rename-me.txt renamed.txt
mv docs/move-me.txt archive/moved.txt
setfattr -n user.note -v "second note, longer" streams.txt
rm -rf tree
setfattr -h -v 0x00000001 -n system.ntfs_attrib_be attr.txt
cd /
umountvol
snapshot 1

# state 2
mountrw
cd "$mnt"
printf 'second new\n' >new2.txt
touch -m -d '2024-05-01 10:00:00 UTC' touch.txt
cd /
umountvol
snapshot 2
