#!/bin/bash
# logged.sh OUT: builds OUT/logged.img, a btrfs volume frozen the way a
# checkpoint of a running guest freezes it: changes fsync'd after the last
# commit live only in the log tree (the image is copied while mounted,
# right after the fsyncs), and OUT/logged.replayed.img, the kernel's
# replay of a copy of it (mounted read-write once, which replays the
# log). The fsyncs are ordered so that none forces a full commit (a
# rename does, on current kernels): a new file, an append, a new folder
# of files (only one of them fsync'd: the others are logged as existing,
# empty, as the kernel logs them), an unlink then an fsync of its folder,
# a hard link, an xattr, and a file overwritten in its middle. Must run
# as root. Fixed UUID and contents; times are not fixed.
set -eu
# The btrfs images here have fixed fsids, and the kernel refuses a second
# device of one fsid while the first is mounted ("non-unique UUID"): two
# checkouts building at once (worktrees, parallel CI jobs on one machine)
# take turns, machine-wide.
exec 9>/tmp/ckptfs-btrfs-fixed-fsid.lock
flock 9
out=$1; mkdir -p "$out"; work=$(mktemp -d "$out/.w.XXXXXX"); loop=
cleanup() { mountpoint -q "$work/m" && umount "$work/m"; [ -n "$loop" ] && losetup -d "$loop"; rm -rf "$work"; }
trap cleanup EXIT
# build: one attempt at the frozen image; false when the kernel committed
# the changes the log should hold. The mount's commit interval is an hour
# so that the periodic commit cannot come first, but other work on a
# loaded machine can still force one: the new file written last must be in
# the log tree only, not in the subvolume's tree (dump-tree says).
build() {
base=$work/base.img; rm -f "$base"; truncate -s 128M "$base"
mkfs.btrfs -q -f -U 7a1c0b52-3e4f-4a6b-8c9d-0e1f2a3b4c5d "$base"
loop=$(losetup -f --show "$base"); mkdir -p "$work/m"; m=$work/m
mount -o commit=3600 "$loop" "$m"
mkdir "$m/keep"
for i in $(seq 1 10); do printf 'kept %d\n' $i >"$m/keep/f$i"; done
head -c 1048576 /dev/zero | tr '\0' 'b' >"$m/keep/big"
sync
printf 'XXXX' | dd of="$m/keep/big" bs=1 seek=300000 conv=notrunc status=none; sync "$m/keep/big"
setfattr -n user.tag -v logged "$m/keep/f5"; sync "$m/keep/f5"
printf 'new file\n' >"$m/newfile"; sync "$m/newfile"
printf 'appended\n' >>"$m/keep/f1"; sync "$m/keep/f1"
mkdir "$m/newdir"; for i in $(seq 1 30); do printf 'n %d\n' $i >"$m/newdir/n$i"; done; sync "$m/newdir/n1" "$m/newdir"
rm "$m/keep/f3"; sync "$m/keep"
ln "$m/keep/f4" "$m/keep/f4link"; sync "$m/keep/f4"
head -c 600000 /dev/zero | tr '\0' 'c' >"$m/big2"; sync "$m/big2"
printf 'YYYY' | dd of="$m/big2" bs=1 seek=200000 conv=notrunc status=none; sync "$m/big2"
cp --sparse=always "$base" "$work/frozen.img"
if [ "$(od -An -tu8 -j $((65536 + 0x60)) -N8 "$work/frozen.img" | tr -d ' ')" = 0 ] ||
	btrfs inspect-internal dump-tree -t fs "$work/frozen.img" 2>/dev/null | grep -q 'name: big2$'; then
	umount "$m"; losetup -d "$loop"; loop=
	return 1
fi
}
built=
for attempt in 1 2 3; do
	if build; then built=1; break; fi
	echo "logged.sh: the kernel committed instead of logging (attempt $attempt), again" >&2
done
if [ -z "$built" ]; then
	echo "logged.sh: the kernel committed instead of logging three times: no log tree to test" >&2
	exit 1
fi
umount "$m"; losetup -d "$loop"; loop=
cp --sparse=always "$work/frozen.img" "$work/replayed.img"
loop=$(losetup -f --show "$work/replayed.img"); mount "$loop" "$m"; umount "$m"; losetup -d "$loop"; loop=
mv "$work/frozen.img" "$out/logged.img"; mv "$work/replayed.img" "$out/logged.replayed.img"
