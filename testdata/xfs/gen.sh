#!/bin/bash
# gen.sh OUT VARIANT: builds one XFS test image, OUT/VARIANT.img, by
# formatting it with mkfs.xfs, loop-mounting it and writing the tree of
# populate.sh through the kernel (so every structure is as Linux lays it
# out). Variant v4 cannot be mounted by kernels without V4 support, so it
# is made with a mkfs.xfs protofile from the same tree built on the host.
# Must run as root. Fixed UUIDs; content is deterministic, times are not
# all (ctime is when the script ran).
set -eu
out=$1
variant=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
img=$out/$variant.img
tmp=$img.tmp
rm -f "$tmp"
uuid=5f3c1a2b-0d4e-4f60-8a7b-9c0d1e2f3a4b

case $variant in
v5) opts=(-m uuid=$uuid) ;;
v5-1k) opts=(-m uuid=$uuid -b size=1024 -n size=16384 -i nrext64=1) ;;
v5-64k) opts=(-m uuid=$uuid -b size=65536) ;;
v4) opts=(-m crc=0,uuid=$uuid -b size=512 -n ftype=0) ;;
# RHEL 8's defaults (xfsprogs 5.0): no bigtime (times of 32-bit seconds,
# clamped at 2038), no inode btree counters.
v5-rhel8) opts=(-m uuid=$uuid,bigtime=0,inobtcount=0) ;;
# 16 MiB, below mkfs.xfs's 300 MiB floor, which the fstests variables lift:
# small enough to load whole in the damaged-field tests and as fuzz seed.
tiny) opts=(-m uuid=$uuid -b size=1024 -d agcount=1); size=16M
	export TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 ;;
# A small log (the smallest mkfs.xfs allows) wrapped several times.
# Mounted with 256 KiB log buffers: records of more than 32 KiB carry
# extended headers.
wrapped) opts=(-m uuid=$uuid -l size=1368b); size=64M; mopts=logbsize=256k
	export TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 ;;
# 50,000 files for the benchmarks.
bench) opts=(-m uuid=$uuid) ;;
# Left with a dirty log by dirty.sh (written, then shut down).
dirty) opts=(-m uuid=$uuid); size=64M
	export TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 ;;
*) echo "unknown variant $variant" >&2; exit 2 ;;
esac

truncate -s "${size:-600M}" "$tmp"
if [ "$variant" = v4 ]; then
	src=$(mktemp -d)
	trap 'rm -rf "$src"' EXIT
	bash "$here/populate.sh" "$src" small
	proto=$src.proto
	bash "$here/proto.sh" "$src" >"$proto"
	mkfs.xfs -q -f -L ckptfs-v4 "${opts[@]}" -p "$proto" "$tmp" 2>/dev/null
	rm -f "$proto"
else
	mkfs.xfs -q -f -L ckptfs-xfs "${opts[@]}" "$tmp"
	mnt=$(mktemp -d)
	dev=$(losetup -f --show "$tmp")
	trap 'umount "$mnt" 2>/dev/null || true; losetup -d "$dev" 2>/dev/null || true; rmdir "$mnt"' EXIT
	mount -t xfs ${mopts:+-o "$mopts"} "$dev" "$mnt"
	if [ "$variant" = tiny ]; then
		bash "$here/populate-tiny.sh" "$mnt"
	elif [ "$variant" = bench ]; then
		bash "$here/populate-bench.sh" "$mnt"
	elif [ "$variant" = wrapped ]; then
		bash "$here/wrapped.sh" "$mnt"
	elif [ "$variant" = dirty ]; then
		bash "$here/dirty.sh" "$mnt"
	else
		bash "$here/populate.sh" "$mnt"
	fi
	umount "$mnt"
	losetup -d "$dev"
	rmdir "$mnt"
	trap - EXIT
fi
mv "$tmp" "$img"
