#!/bin/bash
# gen.sh OUT FS SEED MODE: builds OUT/FS-SEED-MODE.img, a randomized
# filesystem for the cross-checks against the kernel (see README.md).
# FS is xfs, ext4 or btrfs; MODE is clean (unmounted cleanly) or dirty
# (left needing its journal or log replayed). From SEED, with a PRNG of
# its own (the same operations under any bash), it picks mkfs options,
# formats, mounts the image on a loop device and applies a random history
# of operations through the kernel. OUT/FS-SEED-MODE.txt logs the options
# and every operation. Must run as root. Contents and operations follow
# the seed; UUIDs and times do not.
set -eu
export LC_ALL=C
out=$1 fsname=$2 seed=$3 mode=$4
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
name=$fsname-$seed-$mode
img=$out/$name.img log=$out/$name.txt
work=$(mktemp -d "$out/.w.XXXXXX")
tmp=$work/img loop= m=$work/m
mkdir "$m"
# mounted: whether $m is mounted (mountpoint(1) fails on a filesystem
# that was shut down).
mounted() { grep -q " $m " /proc/mounts; }
cleanup() {
	mounted && umount "$m"
	[ -n "$loop" ] && losetup -d "$loop"
	rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=testdata/cross/rand.sh
. "$here/rand.sh"
# shellcheck source=testdata/cross/mkfs.sh
. "$here/mkfs.sh"
# shellcheck source=testdata/cross/ops.sh
. "$here/ops.sh"

rseed "$seed" "$fsname"
: >"$log"
pick_mkfs "$fsname" "$tmp"
echo "mkfs: ${mkfs[*]}" >>"$log"
echo "mount: ${mopts:-defaults}" >>"$log"
"${mkfs[@]}" >/dev/null 2>&1 || { echo "gen.sh: ${mkfs[*]} failed" >&2; "${mkfs[@]}" >&2; exit 1; }
loop=$(losetup -f --show "$tmp")
mount -t "$fsname" ${mopts:+-o "$mopts"} "$loop" "$m"
# The pool the contents are cut from: pseudo-random, from the seed.
openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$seed")" -iv 0 </dev/zero 2>/dev/null |
	head -c 4194304 >"$work/pool"
pool=$work/pool
B64=$(head -c 1048576 "$pool" | base64 -w0)
run_history "$m" "$nops" >>"$log" 2>&1 || true
case $mode in
clean)
	umount "$m"
	;;
dirty)
	finish_dirty "$fsname" "$m" "$tmp" "$work/frozen" >>"$log" 2>&1 || true
	mounted && umount "$m"
	[ -f "$work/frozen" ] && mv "$work/frozen" "$tmp"
	;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac
losetup -d "$loop"; loop=
mv "$tmp" "$img"
