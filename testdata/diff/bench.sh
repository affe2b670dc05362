#!/usr/bin/env bash
# bench.sh OUT FS builds two states of an ext4 (FS: ext4) volume of
# 100,000 small files in 1,000 directories, the second with one file
# rewritten in place, for BenchmarkFilesOneChange (run as root: a loop
# mount). gen.sh runs it when given "bench FS".
#   OUT/bench-FS/state0.img, state1.img  the bare volume (sparse)
set -euo pipefail
out=$1/bench-$2
fs=$2
mkdir -p "$out"
work=$(mktemp -d)
mnt=$work/mnt
mkdir -p "$mnt"
img=$work/vol.img
dev=
cleanup() {
	cd /
	if mountpoint -q "$mnt"; then umount "$mnt" || true; fi
	if [ -n "$dev" ]; then losetup -d "$dev" || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
case $fs in
ext4)
	truncate -s 768M "$img"
	mkfs.ext4 -q -F -b 4096 -N 131072 -E lazy_itable_init=0,lazy_journal_init=0 -U 5c3d4e5f-6071-4d8e-9fa0-b1c2d3e4f506 -L diffbench "$img"
	;;
*)
	echo "bench.sh: unknown filesystem $fs" >&2
	exit 2
	;;
esac
dev=$(losetup -f --show "$img")
mount "$dev" "$mnt"
python3 - "$mnt" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(1000):
    p = os.path.join(root, "d%03d" % d)
    os.mkdir(p)
    for f in range(100):
        with open(os.path.join(p, "f%03d.txt" % f), "w") as fh:
            fh.write("directory %d file %d\n" % (d, f))
PY
sync
umount "$mnt"
cp --sparse=always "$img" "$out/state0.img"
mount "$dev" "$mnt"
printf 'directory 500 file 050 rewritten\n' | dd of="$mnt/d500/f050.txt" conv=notrunc status=none
umount "$mnt"
cp --sparse=always "$img" "$out/state1.img"
