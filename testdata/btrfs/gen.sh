#!/bin/bash
# Builds the btrfs test images into OUT (default testdata/out/btrfs), as
# root: mkfs.btrfs, a loop mount written with the kernel's own btrfs
# (compression, subvolumes, snapshots, reflinks, holes, xattrs), then a
# clean unmount so no log tree is left. Content is deterministic
# data from AES-CTR of zeros, fixed times); what the kernel lays
# out may differ between kernels, which the tests do not depend on: they
# compare with the kernel's own view of the same image.
#
#   main.img    crc32c; metadata DUP; every file kind; zlib, lzo, zstd
#               (compress-force) directories; a fragmented file; sparse and
#               preallocated files; subvolumes, a nested one, snapshots
#   suse.img    openSUSE layout: @, @/home, @/.snapshots/1/snapshot set
#               as the default subvolume
#   fedora.img  Fedora layout: root and home subvolumes, default 5
#   xxhash.img, sha256.img, blake2.img   other checksums; data DUP
#   rootdir.img made by mkfs.btrfs --rootdir (no kernel writes)
#   tiny.img    32 MiB, 4 KiB nodes, mixed block groups: the fuzz seed and
#               the base of the damaged-field table (zlib, lzo, zstd files,
#               an inline one, a link, an xattr, a subvolume)
set -euo pipefail
OUT=${1:-testdata/out/btrfs}
VERSION=4 # bump when the images change
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9
if [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$VERSION" ]; then exit 0; fi
rm -f "$OUT"/*.img

MNT=$(mktemp -d)
# On a failure the writers of a pipeline may still hold the mount for a
# moment: retry, then detach it lazily, so no mount or loop device stays.
cleanup() {
	for _ in 1 2 3 4 5; do
		mountpoint -q "$MNT" || break
		umount "$MNT" 2>/dev/null || sleep 1
	done
	if mountpoint -q "$MNT"; then umount -l "$MNT" || true; fi
	rmdir "$MNT" 2>/dev/null || true
}
trap cleanup EXIT

# rnd N SEED: N deterministic incompressible bytes.
# (The producers die of SIGPIPE when head has enough: not a failure.)
rnd() { (openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$2")" -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null || true) | head -c "$1"; }
# txt N SEED: N deterministic compressible bytes.
txt() { (seq "$2" 1000000 | sed 's/$/ the quick brown fox jumps over the lazy dog/' || true) | head -c "$1"; }
T='2021-03-04 05:06:07.123456789'
mkimg() { # name size mkfs-args...
	local img=$OUT/$1.tmp size=$2; shift 2
	rm -f "$img"; truncate -s "$size" "$img"
	mkfs.btrfs -q -f "$@" "$img"
}
mnt() { mount -o loop"${2:+,$2}" "$OUT/$1.tmp" "$MNT"; }
done_img() { umount "$MNT"; mv "$OUT/$1.tmp" "$OUT/$1.img"; }

common_files() { # dir
	local d=$1
	mkdir -p "$d/small" "$d/dir with space"
	for i in $(seq 1 300); do printf 'small file %d\n' "$i" >"$d/small/f$i"; done
	rnd 3000 7 >"$d/small/inline3000"
	rnd 5000 8 >"$d/regular5000"
	: >"$d/empty"
	rnd 65536 9 >"$d/file64k"
	ln "$d/file64k" "$d/dir with space/hardlink"
	ln -s file64k "$d/symlink"
	ln -s "/absolute/target/that/does/not/exist" "$d/dangling"
	ln -s "$(printf 'x%.0s' $(seq 1 300))" "$d/longlink"
	mkfifo "$d/fifo"
	mknod "$d/chr" c 1 3
	mknod "$d/blk" b 7 200
	printf 'owned' >"$d/owned"; chown 1000:1001 "$d/owned"; chmod 4751 "$d/owned"
	mkdir "$d/sticky"; chmod 1777 "$d/sticky"
	printf 'x' >"$d/xattrs"
	setfattr -n user.comment -v "hello btrfs" "$d/xattrs"
	setfattr -n user.bin -v 0x00ff10 "$d/xattrs"
	setfattr -n trusted.secret -v abc "$d/xattrs"
	setfattr -n system.posix_acl_access -v 0x0200000001000600ffffffff02000400e803000004000400ffffffff10000400ffffffff20000400ffffffff "$d/xattrs"
	# sparse: data at 1 MiB and at 5 MiB of an 8 MiB file
	truncate -s 8M "$d/sparse"
	rnd 10000 10 | dd of="$d/sparse" bs=4096 seek=256 conv=notrunc status=none
	rnd 4096 11 | dd of="$d/sparse" bs=4096 seek=1280 conv=notrunc status=none
	fallocate -l 1M "$d/prealloc"
	fallocate -l 2M "$d/prealloc-part"
	rnd 4096 12 | dd of="$d/prealloc-part" bs=4096 seek=100 conv=notrunc status=none
	touch -h -d "$T" "$d/regular5000" "$d/symlink" "$d/small"
}

# --- main ---
mkimg main 300M -L ckptfs-main -m dup
mnt main
common_files "$MNT"
# fragmented: 8 MiB, then every other 4 KiB block rewritten in 32 flushes
rnd 8388608 20 >"$MNT/fragmented"; sync
for pass in $(seq 0 31); do
	for j in $(seq 0 31); do
		blk=$(( (pass*32 + j) * 2 ))
		rnd 4096 $((1000 + blk)) | dd of="$MNT/fragmented" bs=4096 seek=$blk conv=notrunc status=none
	done
	sync
done
cp --reflink=always "$MNT/fragmented" "$MNT/reflinked"
rnd 4096 30 | dd of="$MNT/reflinked" bs=4096 seek=3 conv=notrunc status=none
touch "$MNT/nocow"; chattr +C "$MNT/nocow"; rnd 200000 31 >>"$MNT/nocow"
umount "$MNT"
for c in zlib lzo zstd; do
	opt=compress=$c; [ $c = zstd ] && opt=compress-force=zstd
	mnt main "$opt"
	mkdir "$MNT/$c"
	txt 1000000 1 >"$MNT/$c/text1m"
	txt 2000 2 >"$MNT/$c/inline-text"
	rnd 300000 40 >"$MNT/$c/random"
	{ txt 100000 3; rnd 50000 41; txt 100000 4; } >"$MNT/$c/mixed"
	truncate -s 3M "$MNT/$c/mixed"
	txt 200000 5 | dd of="$MNT/$c/mixed" bs=4096 seek=600 conv=notrunc status=none
	sync
	# a partial overwrite leaves extents pointing into a compressed one
	rnd 4096 42 | dd of="$MNT/$c/text1m" bs=4096 seek=10 conv=notrunc status=none
	umount "$MNT"
done
mnt main
btrfs -q subvolume create "$MNT/sv1"
common_files "$MNT/sv1"
btrfs -q subvolume create "$MNT/sv1/nested"
printf 'nested\n' >"$MNT/sv1/nested/file"
mkdir "$MNT/snaps"
btrfs -q subvolume snapshot "$MNT/sv1" "$MNT/snaps/sv1-rw"
btrfs -q subvolume snapshot -r "$MNT/sv1" "$MNT/snaps/sv1-ro"
printf 'changed after snapshot\n' >"$MNT/sv1/small/f1"
rm "$MNT/sv1/small/f2"
done_img main

# --- openSUSE layout ---
mkimg suse 200M -L suse
mnt suse
btrfs -q subvolume create "$MNT/@"
btrfs -q subvolume create "$MNT/@/.snapshots"
mkdir "$MNT/@/.snapshots/1"
btrfs -q subvolume create "$MNT/@/.snapshots/1/snapshot"
btrfs -q subvolume create "$MNT/@/home"
for d in etc usr/bin var home root; do mkdir -p "$MNT/@/.snapshots/1/snapshot/$d"; done
printf 'NAME="openSUSE Tumbleweed"\n' >"$MNT/@/.snapshots/1/snapshot/etc/os-release"
printf '<snapshot><num>1</num></snapshot>\n' >"$MNT/@/.snapshots/1/info.xml"
mkdir "$MNT/@/home/user"; printf 'hi\n' >"$MNT/@/home/user/.bashrc"
btrfs -q subvolume snapshot -r "$MNT/@/.snapshots/1/snapshot" "$MNT/@/.snapshots/2-ro" 2>/dev/null || true
id=$(btrfs subvolume list "$MNT" | awk '$NF=="@/.snapshots/1/snapshot" {print $2}')
btrfs subvolume set-default "$id" "$MNT"
done_img suse

# --- Fedora layout ---
mkimg fedora 200M -L fedora
mnt fedora compress=zstd:1
btrfs -q subvolume create "$MNT/root"
btrfs -q subvolume create "$MNT/home"
mkdir -p "$MNT/root/etc" "$MNT/home/user"
printf 'NAME="Fedora Linux"\n' >"$MNT/root/etc/os-release"
txt 300000 9 >"$MNT/home/user/notes.txt"
done_img fedora

# --- other checksums, data DUP ---
for cs in xxhash sha256 blake2; do
	mkimg $cs 200M -L $cs --csum $cs -d dup -m dup --mixed
	mnt $cs
	common_files "$MNT"
	txt 400000 6 >"$MNT/text"
	done_img $cs
done

# --- mkfs.btrfs --rootdir ---
SRC=$(mktemp -d)
common_files "$SRC"
rm -f "$SRC/prealloc" "$SRC/prealloc-part" # --rootdir copies them as data
mkimg rootdir 200M -L rootdir --rootdir "$SRC"
rm -rf "$SRC"
mv "$OUT/rootdir.tmp" "$OUT/rootdir.img"

# --- tiny ---
mkimg tiny 32M -L tiny --mixed -n 4096
mnt tiny compress=zlib
txt 60000 1 >"$MNT/zlib.txt"
printf 'hi\n' >"$MNT/inline"
txt 3000 2 >"$MNT/zinline"
ln -s inline "$MNT/link"
setfattr -n user.a -v b "$MNT/inline"
mkdir "$MNT/d"
rnd 20000 3 >"$MNT/d/plain"
umount "$MNT"
mnt tiny compress=lzo
txt 60000 4 >"$MNT/lzo.txt"
umount "$MNT"
mnt tiny compress=zstd
txt 60000 5 >"$MNT/zstd.txt"
btrfs -q subvolume create "$MNT/sv"
printf 'x\n' >"$MNT/sv/x"
done_img tiny

echo "$VERSION" >"$OUT/.stamp"
