#!/usr/bin/env bash
# Side-by-side measurements for `make bench`: the same work done by ckptfs
# and by the independent tools, with ratios. Medians of RUNS runs.
#  1. cold-cache sequential read of a 4-layer chain (32 MiB blocks, every
#     block partial): ckptfs mount vs libvhdi's vhdimount vs a go-fuse file
#     served from memory;
#  2. 4 KiB random reads, 4 threads: ckptfs mount vs vhdimount;
#  3. time until a mount of a 10-deep chain answers;
#  4. export of a dynamic VHDX to raw: ckptfs export vs qemu-img convert;
#  5. diff of two checkpoints vs sha256sum of both raw images;
#  6. NTFS reads and listings vs ntfs-3g;
#  7. NBD: ckptfs serve vs qemu-nbd (nbdcopy, random reads);
#  8. btrfs: find and sha256 of every file of a 50,000-file zstd volume,
#     ckptfs mount vs the kernel's loop mount (as root);
#  9. XFS: find -ls and sha256 of every file of a 50,000-file volume, cold,
#     ckptfs mount vs the kernel's loop mount (as root);
# 10. BitLocker (scripts/bench-bitlocker.sh): decryption MB per CPU-second,
#     and a 200 MiB file read cold through the mount from AES-XTS-128 (512-
#     and 4096-byte sectors) and CBC + Elephant volumes vs the same file on
#     the unencrypted volume;
# 11. tree walks (testdata/perf/tree.sh, 50,000 small files in 1,020
#     folders): NTFS find, hash of every file, du -s and ckptfs cp vs
#     ntfs-3g (find, sha256sum, du -s, cp -a) and the FUSE requests of a
#     cold find, hash and du by kind, ext4 find, hash, du -s and `ls -l` of a
#     100,000-entry folder vs the kernel's loop mount (as root); `ls -l` of a 100,000-entry folder vs ntfs-3g, cold
#     and warm;
# 12. object storage on loopback (scripts/bench-remote.sh): a checkpoint's
#     raw image read from nginx, SeaweedFS (S3) and Azurite vs a plain
#     ranged download of as many bytes (curl, the SDKs), requests per layer,
#     a cold mount until the first ls of a guest folder over S3.
# 13. WOF ("system compression", scripts/bench-wof.sh): the XPRESS and LZX
#     decoders alone, and the files of each WOF format read cold through
#     the mount vs wimlib extracting the same compressed chunks.
# 14. memory of a walk across checkpoints: ls -lR of the NTFS tree volume
#     (section 11's) in each of the 7 checkpoints of a chain, one after
#     another through one mount: peak RSS, live heap after the last GC and
#     time of each walk, with the default cache budget and with
#     -o cache_mem=64M (MEMWALK_BIN=path walks with another build
#     first, with its defaults: a before/after).
# 15. diff --files of a one-file change on an ext4 volume of 100,000 files
#     (testdata/diff/bench.sh, as root): compared by the inodes in the
#     changed ranges vs the full walk of both trees (BenchmarkFilesOneChange).
# BENCH_SECTIONS picks sections (numbers separated by spaces or commas):
#   BENCH_SECTIONS=11 make bench    runs section 11 alone (and no Go
#   benchmarks: they are section 0, see the Makefile). Unset: all of them.
# Every section prints the load average it starts with: the machine may be
# shared, and a figure means little without it.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SIZE=${SIZE:-1G}
BENCH_SECTIONS=${BENCH_SECTIONS:-}
want() { # want N...: true when one of the sections is asked for
	[ -z "$BENCH_SECTIONS" ] && return 0
	local n
	for n in "$@"; do
		case " ${BENCH_SECTIONS//,/ } " in *" $n "*) return 0 ;; esac
	done
	return 1
}
load() { echo "section $1, load average: $(cut -d' ' -f1-3 /proc/loadavg)"; }
work=$(mktemp -d "${TMPDIR:-/var/tmp}/ckptfs-bench.XXXXXX")
mounts=()
cleanup() {
	for m in "${mounts[@]}"; do fusermount3 -u "$m" 2>/dev/null || true; done
	umount "$work/bk" 2>/dev/null || true # the kernel's btrfs mount, if left
	umount "$work/xk" 2>/dev/null || true # the kernel's XFS mount, if left
	umount "$work/ek" 2>/dev/null || true # the kernel's ext4 mount, if left
	sleep 0.5
	rm -rf "$work"
}
trap cleanup EXIT

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
wait_for() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done; echo "timeout waiting for $1" >&2; return 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

top="$work/chain/layer3.avhdx"
if want 1 2 4 5 7; then
	echo "building a 4-layer chain of $SIZE (32 MiB blocks, every block partial)"
	mkdir -p "$work/chain"
	bin/benchchain -o "$work/chain" -size "$(numfmt --from=iec "$SIZE")" -block-size $((32 << 20)) -layers 4 >/dev/null
fi

# Each sequential run gets a fresh mount, so nothing is left in the FUSE
# file's page cache; "cold" also drops the page cache of the disk files.
mount_ck() { mkdir -p "$work/ck"; bin/ckptfs mount "$top" "$work/ck" 2>/dev/null & wait_for "$work/ck/latest"; }
mount_vh() { mkdir -p "$work/vh"; vhdimount "$top" "$work/vh" >/dev/null; wait_for "$work/vh/vhdi4"; }
umount_all() { fusermount3 -u "$work/ck" 2>/dev/null || true; fusermount3 -u "$work/vh" 2>/dev/null || true; sleep 0.3; }
ckraw() { find "$work/ck/checkpoints/Now/disks" -name '*.raw' | head -1; }
seq_once() { local t0 t1 bytes; bytes=$(stat -L -c %s "$1"); t0=$(now); dd if="$1" of=/dev/null bs=1M status=none; t1=$(now)
	awk -v b="$bytes" -v a="$t0" -v c="$t1" 'BEGIN { printf "%.1f\n", b / (c - a) / 1e6 }'; }

if want 1; then
echo; load 1
ck_cold=$(for _ in $(seq "$RUNS"); do mount_ck; drop_caches; seq_once "$(ckraw)"; umount_all; done | median)
vh_cold=$(for _ in $(seq "$RUNS"); do mount_vh; drop_caches; seq_once "$work/vh/vhdi4"; umount_all; done | median)
cat "$work"/chain/* >/dev/null
ck_warm=$(for _ in $(seq "$RUNS"); do mount_ck; seq_once "$(ckraw)"; umount_all; done | median)
# The memory file twice: with the kernel's read-ahead window for FUSE (what
# a go-fuse file system gets by default) and with the window ckptfs sets.
mkdir -p "$work/mem" "$work/mem4"
bin/memfuse -size "$(numfmt --from=iec "$SIZE")" "$work/mem" & mounts+=("$work/mem")
bin/memfuse -size "$(numfmt --from=iec "$SIZE")" -read-ahead-kb 4096 "$work/mem4" & mounts+=("$work/mem4")
wait_for "$work/mem/data"; wait_for "$work/mem4/data"
mem=$(for _ in $(seq "$RUNS"); do drop_caches; seq_once "$work/mem/data"; done | median)
mem4=$(for _ in $(seq "$RUNS"); do drop_caches; seq_once "$work/mem4/data"; done | median)
# O_DIRECT: no page cache of the FUSE file, so every byte passes through the
# server; this is the server's own speed (disk files cached).
seq_direct() { local t0 t1 bytes; bytes=$(stat -L -c %s "$1"); t0=$(now); dd if="$1" of=/dev/null bs=1M iflag=direct status=none; t1=$(now)
	awk -v b="$bytes" -v a="$t0" -v c="$t1" 'BEGIN { printf "%.1f\n", b / (c - a) / 1e6 }'; }
mount_ck
ck_direct=$(for _ in $(seq "$RUNS"); do seq_direct "$(ckraw)"; done | median)
umount_all
mem_direct=$(for _ in $(seq "$RUNS"); do seq_direct "$work/mem/data"; done | median)
fusermount3 -u "$work/mem" 2>/dev/null || true
fusermount3 -u "$work/mem4" 2>/dev/null || true

echo
printf '%-52s %12s %12s %8s\n' "measure" "ckptfs" "other" "ratio"
printf '%-52s %10s/s %10s/s %8s\n' "cold sequential read MB, vs vhdimount" "$ck_cold" "$vh_cold" "$(ratio "$ck_cold" "$vh_cold")"
printf '%-52s %10s/s %10s/s %8s\n' "sequential read MB (disk files cached), vs memory file" "$ck_warm" "$mem" "$(ratio "$ck_warm" "$mem")"
printf '%-52s %10s/s %10s/s %8s\n' "the same, memory file with ckptfs's read-ahead window" "$ck_warm" "$mem4" "$(ratio "$ck_warm" "$mem4")"
printf '%-52s %10s/s %10s/s %8s\n' "same with O_DIRECT (server speed), vs memory file" "$ck_direct" "$mem_direct" "$(ratio "$ck_direct" "$mem_direct")"
fi

if want 2; then
echo; load 2
mount_ck; mount_vh; mounts+=("$work/ck" "$work/vh")
drop_caches
ckr=$(bin/randread -t 4 -d 5s "$(ckraw)" | awk '{print $1}')
drop_caches
vhr=$(bin/randread -t 4 -d 5s "$work/vh/vhdi4" | awk '{print $1}')
printf '%-52s %12s %12s %8s\n' "random 4 KiB reads/s from cold, 4 threads, vs vhdimount" "$ckr" "$vhr" "$(ratio "$ckr" "$vhr")"
ckr=$(bin/randread -t 4 -d 5s "$(ckraw)" | awk '{print $1}')
vhr=$(bin/randread -t 4 -d 5s "$work/vh/vhdi4" | awk '{print $1}')
printf '%-52s %12s %12s %8s\n' "random 4 KiB reads/s once cached, vs vhdimount" "$ckr" "$vhr" "$(ratio "$ckr" "$vhr")"
cat "$work"/chain/* >/dev/null
ckr=$(bin/randread -direct -t 4 -d 5s "$(ckraw)" | awk '{print $1}')
vhr=$(bin/randread -direct -t 4 -d 5s "$work/vh/vhdi4" | awk '{print $1}')
printf '%-52s %12s %12s %8s\n' "random 4 KiB reads/s, O_DIRECT (server speed), vs vhdimount" "$ckr" "$vhr" "$(ratio "$ckr" "$vhr")"
umount_all
fi

if want 3; then
echo; load 3
echo "building a 10-deep chain of 1 TiB disks"
mkdir -p "$work/deep"
bin/benchchain -o "$work/deep" -size $((1 << 40)) -block-size $((2 << 20)) -layers 10 -touch 64 -runs 2 >/dev/null
for _ in $(seq "$RUNS"); do
	mkdir -p "$work/dm"
	t0=$(now)
	bin/ckptfs mount "$work/deep" "$work/dm" 2>/dev/null &
	pid=$!
	wait_for "$work/dm/latest"
	t1=$(now)
	fusermount3 -u "$work/dm"; wait $pid || true
	awk -v a="$t0" -v c="$t1" 'BEGIN { printf "%.3f\n", c - a }'
done | median | xargs printf '%-52s %11ss\n' "mount of a 10-deep 1 TiB chain ready in"
fi

# Each timed command starts from the same place: its own previous output
# deleted and synced (ext4 may discard the freed blocks meanwhile), caches
# dropped. The two sides alternate which goes first.
fresh() { rm -f "$@"; sync; sleep 0.5; drop_caches; }
timed() { local t0 t1; t0=$(now); "$@" >/dev/null 2>&1; t1=$(now); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'; }
cold() { drop_caches; timed "$@"; echo; }
qemu_convert() { qemu-img convert -f vhdx -O "$1" "$2" "$3"; }
qemu_convert_sync() { qemu-img convert -f vhdx -O "$1" "$2" "$3" && dd if=/dev/null of="$3" conv=notrunc,fsync status=none; }
vhdi_cp() { mount_vh; cp --sparse=always "$work/vh/vhdi4" "$1"; dd if=/dev/null of="$1" conv=notrunc,fsync status=none; fusermount3 -u "$work/vh"; }

if want 4 && bin/ckptfs export --help >/dev/null 2>&1; then
	echo; load 4
	# ckptfs syncs its output before renaming it into place; qemu-img leaves
	# its data in the page cache, so it is timed alone and with an fsync.
	base="$work/chain/layer0.vhdx"
	umount_all
	for fmt in raw vhdx; do
		for i in $(seq "$RUNS"); do
			ck() { fresh "$work/e.$fmt"; timed bin/ckptfs export "$base" layer0 -o "$work/e.$fmt" --format $fmt; }
			qe() { fresh "$work/q.$fmt"; timed qemu_convert $fmt "$base" "$work/q.$fmt"; echo -n " "; fresh "$work/q.$fmt"; timed qemu_convert_sync $fmt "$base" "$work/q.$fmt"; }
			if [ $((i % 2)) = 1 ]; then e=$(ck); q=$(qe); else q=$(qe); e=$(ck); fi
			echo "$e $q"
		done > "$work/export.times"
		rm -f "$work/e.$fmt" "$work/q.$fmt"
		e=$(awk '{print $1}' "$work/export.times" | median)
		q=$(awk '{print $2}' "$work/export.times" | median)
		qs=$(awk '{print $3}' "$work/export.times" | median)
		printf '%-52s %11ss %11ss %8s\n' "export to $fmt, vs qemu-img convert (speed ratio)" "$e" "$q" "$(ratio "$q" "$e")"
		printf '%-52s %11ss %11ss %8s\n' "export to $fmt, vs qemu-img convert + fsync" "$e" "$qs" "$(ratio "$qs" "$e")"
	done

	# A 4-layer chain to a raw file: ckptfs export vs vhdimount + cp, both synced.
	for i in $(seq "$RUNS"); do
		ck() { fresh "$work/c.raw"; timed bin/ckptfs export "$top" layer3 -o "$work/c.raw" --format raw; }
		vc() { fresh "$work/v.raw"; timed vhdi_cp "$work/v.raw"; }
		if [ $((i % 2)) = 1 ]; then e=$(ck); v=$(vc); else v=$(vc); e=$(ck); fi
		echo "$e $v"
	done > "$work/chain.times"
	rm -f "$work/c.raw" "$work/v.raw"
	e=$(awk '{print $1}' "$work/chain.times" | median); v=$(awk '{print $2}' "$work/chain.times" | median)
	printf '%-52s %11ss %11ss %8s\n' "export 4-layer chain to raw, vs vhdimount + cp" "$e" "$v" "$(ratio "$v" "$e")"
fi

if want 5 && bin/ckptfs diff --help >/dev/null 2>&1; then
	echo; load 5
	mount_ck
	# 16 GiB disk, 64 MiB changed: the Go benchmark times the diff; sha256sum
	# of both 16 GiB images is extrapolated from its measured speed here.
	ns=$(go test ./diff -run '^$' -bench 'Ranges16GiB/64MiB' -benchtime 3x 2>/dev/null | awk '/ns\/op/ {print $3; exit}')
	if [ -n "$ns" ]; then
		drop_caches
		t0=$(now); sha256sum "$(ckraw)" >/dev/null; t1=$(now)
		awk -v ns="$ns" -v a="$t0" -v b="$t1" -v sz="$(numfmt --from=iec "$SIZE")" 'BEGIN {
			sha = (b - a) / sz * 2 * 16 * 2^30; d = ns / 1e9
			printf "%-52s %11.3fs %11.1fs %8.0f\n", "diff, 16 GiB disk, 64 MiB changed, vs sha256sum x2", d, sha, sha / d }'
	fi
	drop_caches
	t0=$(now); bin/ckptfs diff "$work/chain" layer2 layer3 --ranges >/dev/null 2>&1 || true; t1=$(now)
	drop_caches
	t2=$(now); sha256sum "$(find "$work/ck/checkpoints/layer2/disks" -name '*.raw')" "$(ckraw)" >/dev/null; t3=$(now)
	awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN { printf "%-52s %11.3fs %11.3fs %8.1f\n", "diff of adjacent checkpoints, vs sha256sum (speed ratio)", b - a, d - c, (d - c) / (b - a) }'
	umount_all
fi

# The NTFS volume of a 256 MiB file and a 100,000-entry folder
# (testdata/ntfs/gen.sh big) for sections 6 and 11, kept in
# testdata/out/perf while gen.sh is unchanged (IMG.stamp holds its hash).
bigimg() {
	local d=testdata/out/perf/ntfsbig v
	v=$(sha256sum <testdata/ntfs/gen.sh | cut -c1-16)
	if ! [ -s "$d/big.img" ] || [ "$(cat "$d/big.img.stamp" 2>/dev/null)" != "$v" ]; then
		echo "building the NTFS benchmark volume (testdata/ntfs/gen.sh big)" >&2
		rm -f "$d/big.img"
		bash testdata/ntfs/gen.sh "$d" big >/dev/null 2>&1
		echo "$v" >"$d/big.img.stamp"
	fi
	echo "$d/big.img"
}

# NTFS: reading a 256 MiB file and listing a 100,000-entry directory, cold,
# through the ckptfs mount (the volume wrapped in a VHDX) and through ntfs-3g.
if want 6; then
echo; load 6
img=$(bigimg)
mkdir -p "$work/nvhdx" "$work/nck" "$work/n3g"
bin/mkchain -o "$work/nvhdx" -name ntfsbig "$img" >/dev/null
bin/ckptfs mount "$work/nvhdx/ntfsbig.vhdx" "$work/nck" 2>/dev/null & mounts+=("$work/nck")
ntfs-3g -o ro "$img" "$work/n3g"; mounts+=("$work/n3g")
wait_for "$work/nck/latest"
ckvol="$work/nck/checkpoints/Now/Disk0-vol"
big=$(cd "$work/n3g" && find . -maxdepth 2 -type f -size +200M | head -1)
bigdir=$(cd "$work/n3g" && for d in */; do n=$(ls -f "$d" | wc -l); [ "$n" -gt 90000 ] && echo "$d" && break; done)
ckf=$(for _ in $(seq "$RUNS"); do cold cat "$ckvol/$big"; done | median)
n3f=$(for _ in $(seq "$RUNS"); do cold cat "$work/n3g/$big"; done | median)
printf '%-52s %11ss %11ss %8s\n' "NTFS: read a 256 MiB file cold, vs ntfs-3g" "$ckf" "$n3f" "$(ratio "$n3f" "$ckf")"
ckl=$(for _ in $(seq "$RUNS"); do cold ls -f "$ckvol/$bigdir"; done | median)
n3l=$(for _ in $(seq "$RUNS"); do cold ls -f "$work/n3g/$bigdir"; done | median)
printf '%-52s %11ss %11ss %8s\n' "NTFS: list a 100,000-entry directory cold, vs ntfs-3g" "$ckl" "$n3l" "$(ratio "$n3l" "$ckl")"
fusermount3 -u "$work/nck" 2>/dev/null || true
fusermount3 -u "$work/n3g" 2>/dev/null || true
fi

# NBD: the 4-layer chain served by `ckptfs serve` against qemu-nbd serving
# an exported raw copy of the same checkpoint: a whole-disk nbdcopy (cold)
# and 4 KiB random reads with fio's nbd engine (queue depth 16, 10 s).
if want 7 && bin/ckptfs serve --help >/dev/null 2>&1 && command -v nbdcopy >/dev/null && command -v qemu-nbd >/dev/null; then
	echo; load 7
	bin/ckptfs export "$top" layer3 -o "$work/nbd.raw" --format raw >/dev/null 2>&1
	bin/ckptfs serve "$top" --socket "$work/ck.sock" >/dev/null 2>&1 &
	ckserve=$!
	qemu-nbd -r -f raw -t -k "$work/q.sock" "$work/nbd.raw" &
	qnbd=$!
	wait_for "$work/ck.sock"; wait_for "$work/q.sock"
	ckuri="nbd+unix:///layer3/Disk0?socket=$work/ck.sock"
	[ -n "$(nbdinfo --size "$ckuri" 2>/dev/null)" ] || ckuri="nbd+unix:///?socket=$work/ck.sock"
	quri="nbd+unix:///?socket=$work/q.sock"
	ckc=$(for _ in $(seq "$RUNS"); do cold nbdcopy "$ckuri" null:; done | median)
	qc=$(for _ in $(seq "$RUNS"); do cold nbdcopy "$quri" null:; done | median)
	printf '%-52s %11ss %11ss %8s\n' "NBD: nbdcopy a checkpoint's disk cold, vs qemu-nbd" "$ckc" "$qc" "$(ratio "$qc" "$ckc")"
	if fio --enghelp 2>/dev/null | grep -qw nbd; then
		iops() { fio --name=r --ioengine=nbd --uri="$1" --rw=randread --bs=4k --iodepth=16 --runtime=10 --time_based \
			--output-format=terse 2>/dev/null | awk -F';' 'NF > 8 {print $8}'; }
		cki=$(iops "$ckuri"); qi=$(iops "$quri")
		printf '%-52s %10s/s %10s/s %8s\n' "NBD: 4 KiB random reads (IOPS), vs qemu-nbd" "$cki" "$qi" "$(ratio "$cki" "$qi")"
	fi
	kill "$ckserve" "$qnbd" 2>/dev/null || true
	wait "$ckserve" "$qnbd" 2>/dev/null || true
	rm -f "$work/nbd.raw"
fi

# btrfs: a 50,000-file volume written by the kernel with compress=zstd:1
# (testdata/btrfs/bench.sh), wrapped in a VHDX; find + sha256sum of every
# file, cold, through the ckptfs mount and through the kernel's loop mount.
if want 8 && [ "$(id -u)" = 0 ] && command -v mkfs.btrfs >/dev/null; then
	echo; load 8
	echo "building the btrfs benchmark volume (testdata/btrfs/bench.sh)"
	bash testdata/btrfs/bench.sh "$work/btrfs"
	mkdir -p "$work/bvhdx" "$work/bck" "$work/bk"
	bin/mkchain -o "$work/bvhdx" -name b50 "$work/btrfs/bench50k.img" >/dev/null
	bin/ckptfs mount "$work/bvhdx/b50.vhdx" "$work/bck" 2>/dev/null & mounts+=("$work/bck")
	mount -o ro,loop "$work/btrfs/bench50k.img" "$work/bk"
	wait_for "$work/bck/latest"
	hashall() { (cd "$1" && find . -type f -print0 | xargs -0 sha256sum >/dev/null); }
	ckb=$(for _ in $(seq "$RUNS"); do cold hashall "$work/bck/checkpoints/Now/Disk0-vol"; done | median)
	kb=$(for _ in $(seq "$RUNS"); do cold hashall "$work/bk"; done | median)
	umount "$work/bk"
	printf '%-52s %11ss %11ss %8s\n' "btrfs: find + sha256 50,000 files cold, vs kernel" "$ckb" "$kb" "$(ratio "$kb" "$ckb")"
	rm -f "$work/btrfs/bench50k.img"
fi

# XFS (root only: the volume is written through a loop mount): find and
# hashing every file of a 50,000-file tree, cold, through the ckptfs mount
# (the volume wrapped in a VHDX) and through the kernel's loop mount.
if want 9 && [ "$(id -u)" = 0 ] && command -v mkfs.xfs >/dev/null; then
	echo; load 9
	echo "building the XFS benchmark volume (testdata/xfs/gen.sh bench)"
	bash testdata/xfs/gen.sh "$work/xfs" bench >/dev/null 2>&1
	mkdir -p "$work/xvhdx" "$work/xck" "$work/xk"
	bin/mkchain -o "$work/xvhdx" -name xfsbench "$work/xfs/bench.img" >/dev/null
	bin/ckptfs mount "$work/xvhdx/xfsbench.vhdx" "$work/xck" 2>/dev/null & mounts+=("$work/xck")
	mount -t xfs -o ro,loop,nouuid "$work/xfs/bench.img" "$work/xk" # the loop device goes with the umount
	wait_for "$work/xck/latest"
	xvol=$(find "$work/xck/checkpoints/Now" -mindepth 1 -maxdepth 1 -name '*-vol' | head -1)
	findls() { find "$1" -ls >/dev/null; }
	findhash() { find "$1" -type f -print0 | xargs -0 sha256sum >/dev/null; }
	ckx=$(for _ in $(seq "$RUNS"); do cold findls "$xvol"; done | median)
	kx=$(for _ in $(seq "$RUNS"); do cold findls "$work/xk"; done | median)
	printf '%-52s %11ss %11ss %8s\n' "XFS: find -ls of 50,000 files cold, vs kernel" "$ckx" "$kx" "$(ratio "$kx" "$ckx")"
	ckh=$(for _ in $(seq "$RUNS"); do cold findhash "$xvol"; done | median)
	kh=$(for _ in $(seq "$RUNS"); do cold findhash "$work/xk"; done | median)
	printf '%-52s %11ss %11ss %8s\n' "XFS: hash 50,000 files cold, vs kernel" "$ckh" "$kh" "$(ratio "$kh" "$ckh")"
	umount "$work/xk"
	fusermount3 -u "$work/xck" 2>/dev/null || true
	rm -rf "$work/xfs" "$work/xvhdx"
fi

# BitLocker (scripts/bench-bitlocker.sh, which runs alone too): the
# decryption rate per core (Go benchmarks, MB per CPU-second), and a 200 MiB
# file read cold through the mount from AES-XTS-128 (512- and 4096-byte
# sectors) and AES-CBC-128 + Elephant volumes vs the same file on the
# unencrypted copy of the volume, interleaved, with the load average.
if want 10; then
	echo; load 10
	bash scripts/bench-bitlocker.sh "$work/bl"
fi

# Tree walks: 50,000 files of 1 to 6,000 bytes in 20 x 50 folders
# (testdata/perf/tree.sh; the images are kept in testdata/out/perf between
# runs), each wrapped in a VHDX, and `ls -l` of the 100,000-entry folder of
# the section 6 volume. Cold: a fresh mount of both sides (the FUSE
# server's caches empty too) and the page cache dropped before each walk;
# warm: the same walk again on mounts walked once, page cache kept. The two
# sides alternate which goes first (A B, B A, ...); medians of RUNS runs.
pair() { # pair LABEL PREP A B OTHERNAME: ckptfs's A against the other side's B
	local i x y
	for i in $(seq "$RUNS"); do
		if [ $((i % 2)) = 1 ]; then
			$2; x=$(timed "$3"); $2; y=$(timed "$4")
		else
			$2; y=$(timed "$4"); $2; x=$(timed "$3")
		fi
		echo "$x $y"
	done >"$work/pair.times"
	x=$(awk '{print $1}' "$work/pair.times" | median); y=$(awk '{print $2}' "$work/pair.times" | median)
	printf '%-52s %11ss %11ss %8s\n' "$1, vs $5" "$x" "$y" "$(ratio "$y" "$x")"
	pair_other=$y
}
findall() { find "$1" | wc -l; }
hashall() { (cd "$1" && find . -type f -print0 | xargs -0 sha256sum >/dev/null); }
coldtree() { remount_tree; drop_caches; }
treewalk() { # treewalk LABEL OTHERNAME: find and hash of $ckt and $ott, cold and warm
	ckfind() { findall "$ckt"; }
	otfind() { findall "$ott"; }
	ckhash() { hashall "$ckt"; }
	othash() { hashall "$ott"; }
	pair "$1: find 51,021 entries cold" coldtree ckfind otfind "$2"
	ckfind >/dev/null; otfind >/dev/null # both mounts walked once
	pair "$1: the same find warm" true ckfind otfind "$2"
	pair "$1: sha256 of every file cold" coldtree ckhash othash "$2"
	ckhash; othash # both mounts read once
	pair "$1: sha256 of every file warm" true ckhash othash "$2"
	# du stats every entry it lists: a LOOKUP a file unless the
	# listings describe them (fs/guestdirhandle.go)
	ckdu() { du -s "$ckt" >/dev/null; }
	otdu() { du -s "$ott" >/dev/null; }
	pair "$1: du -s cold" coldtree ckdu otdu "$2"
	reqs "$1: requests of a cold find" ckfind
	reqs "$1: requests of a cold find + sha256" ckhash
	reqs "$1: requests of a cold du -s" ckdu
}
# reqs LABEL WALK: the FUSE requests one cold walk sends through a fresh
# ckptfs mount ($ckmnt), by kind (CKPTFS_REQUESTS, written at unmount):
# how many a walk costs is what changes when the mount's protocol use does.
reqs() {
	rm -f "$work/reqs"
	CKPTFS_REQUESTS="$work/reqs"; export CKPTFS_REQUESTS
	coldtree; unset CKPTFS_REQUESTS
	$2 >/dev/null
	fusermount3 -u "$ckmnt"; wait_for "$work/reqs"
	printf '%-52s %s\n' "$1" "$(tr '\n' ' ' <"$work/reqs")"
}
if want 11 && command -v mkntfs >/dev/null && command -v ntfs-3g >/dev/null; then
	echo; load 11
	echo "building the tree volumes (testdata/perf/tree.sh)"
	tree=testdata/out/perf
	bash testdata/perf/tree.sh "$tree" ntfs
	mkdir -p "$work/tvhdx" "$work/tck" "$work/t3g"
	bin/mkchain -o "$work/tvhdx" -name tree "$tree/tree-ntfs.img" >/dev/null
	remount_tree() {
		fusermount3 -u "$work/tck" 2>/dev/null || true
		fusermount3 -u "$work/t3g" 2>/dev/null || true
		sleep 0.3
		# the mount's output goes elsewhere: a pipe it kept open would
		# keep the median of the walk that started it waiting
		bin/ckptfs mount "$work/tvhdx/tree.vhdx" "$work/tck" >/dev/null 2>&1 &
		ntfs-3g -o ro "$tree/tree-ntfs.img" "$work/t3g" >/dev/null 2>&1
		wait_for "$work/tck/latest"
	}
	mounts+=("$work/tck" "$work/t3g")
	ckt="$work/tck/checkpoints/Now/Disk0-vol" ott="$work/t3g" ckmnt="$work/tck"
	treewalk NTFS ntfs-3g
	# A copy of the whole volume (50,000 files) to the local disk, synced:
	# ckptfs cp reads the VHDX itself; cp -a reads through ntfs-3g.
	remount_tree
	cpck() { bin/ckptfs cp "$work/tvhdx/tree.vhdx" Now Disk0-vol "$work/cpck" && sync; }
	cp3g() { cp -a "$work/t3g" "$work/cp3g" && sync; }
	cpprep() { rm -rf "$work/cpck" "$work/cp3g"; fresh; }
	pair "NTFS: ckptfs cp of 50,000 files cold" cpprep cpck cp3g "cp -a"
	rm -rf "$work/cpck" "$work/cp3g"
	fusermount3 -u "$work/tck" 2>/dev/null || true
	fusermount3 -u "$work/t3g" 2>/dev/null || true

	# ls -l of the 100,000-entry folder: every entry stat'ed, a LOOKUP
	# each through ntfs-3g, READDIRPLUS batches through ckptfs.
	img=$(bigimg)
	mkdir -p "$work/lvhdx" "$work/lck" "$work/l3g"
	bin/mkchain -o "$work/lvhdx" -name ntfsbig "$img" >/dev/null
	remount_tree() {
		fusermount3 -u "$work/lck" 2>/dev/null || true
		fusermount3 -u "$work/l3g" 2>/dev/null || true
		sleep 0.3
		bin/ckptfs mount "$work/lvhdx/ntfsbig.vhdx" "$work/lck" >/dev/null 2>&1 &
		ntfs-3g -o ro "$img" "$work/l3g" >/dev/null 2>&1
		wait_for "$work/lck/latest"
	}
	mounts+=("$work/lck" "$work/l3g")
	ckls() { ls -l "$work/lck/checkpoints/Now/Disk0-vol/huge" | wc -l; }
	otls() { ls -l "$work/l3g/huge" | wc -l; }
	pair "NTFS: ls -l of a 100,000-entry folder cold" coldtree ckls otls ntfs-3g
	ckls >/dev/null; otls >/dev/null
	pair "NTFS: the same ls -l warm" true ckls otls ntfs-3g
	fusermount3 -u "$work/lck" 2>/dev/null || true
	fusermount3 -u "$work/l3g" 2>/dev/null || true
fi
if want 11 && [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null; then
	echo; load 11
	tree=testdata/out/perf
	bash testdata/perf/tree.sh "$tree" ext4
	bash testdata/perf/bigdir-ext4.sh "$tree"
	mkdir -p "$work/evhdx" "$work/eck" "$work/ek"
	bin/mkchain -o "$work/evhdx" -name tree4 "$tree/tree-ext4.img" >/dev/null
	bin/mkchain -o "$work/evhdx" -name big4 "$tree/big-ext4.img" >/dev/null
	eimg=tree-ext4.img evhdx=tree4.vhdx ckopts=
	remount_tree() {
		fusermount3 -u "$work/eck" 2>/dev/null || true
		umount "$work/ek" 2>/dev/null || true
		sleep 0.3
		bin/ckptfs mount $ckopts "$work/evhdx/$evhdx" "$work/eck" >/dev/null 2>&1 &
		mount -o ro,loop "$tree/$eimg" "$work/ek"
		wait_for "$work/eck/latest"
	}
	mounts+=("$work/eck")
	ckt="$work/eck/checkpoints/Now/Disk0-vol" ott="$work/ek" ckmnt="$work/eck"
	treewalk ext4 kernel
	# ls -l of a 100,000-entry folder: a READDIRPLUS entry and a GETXATTR
	# (system.posix_acl_access) an entry through the mount; its
	# security.selinux is asked once (fs/xattrabsent.go).
	eimg=big-ext4.img evhdx=big4.vhdx
	ckls() { ls -l "$ckt/big" | wc -l; }
	otls() { ls -l "$ott/big" | wc -l; }
	pair "ext4: ls -l of a 100,000-entry folder cold" coldtree ckls otls kernel
	remount_tree; ckls >/dev/null; otls >/dev/null
	pair "ext4: the same ls -l warm" true ckls otls kernel
	# With -o default_permissions the kernel checks owners, modes and ACLs
	# as its ext4 does, and keeps each ACL it asked for: warm, no request
	# an entry.
	ckopts="-o default_permissions"
	pair "ext4: ls -l cold, -o default_permissions" coldtree ckls otls kernel
	kcold=$pair_other
	remount_tree; ckls >/dev/null; otls >/dev/null
	pair "ext4: the same warm, -o default_permissions" true ckls otls kernel
	ckopts=
	# The floor of that cold ls -l for any FUSE file system on this
	# machine: its one GETXATTR an entry is a round trip to the server,
	# which the kernel's ext4 answers in memory. Here a go-fuse server
	# answers it from memory (tools/memfuse), 20,000 times after a listing
	# that cached every entry; 100,000 of them against the kernel's whole
	# cold ls -l is the best ratio reachable without a faster transport.
	mkdir -p "$work/mf"
	bin/memfuse -size 4096 -files 20000 "$work/mf" & mounts+=("$work/mf")
	wait_for "$work/mf/many"
	ls -l "$work/mf/many" >/dev/null
	getx() { (cd "$work/mf/many" && getfattr -h -n system.posix_acl_access -- f* >/dev/null 2>&1); }
	rt=$(for _ in $(seq "$RUNS"); do timed getx; echo; done | median)
	awk -v t="$rt" -v k="$kcold" 'BEGIN { us = t / 20000 * 1e6; f = us * 100000 / 1e6
		printf "%-52s %10.1fus %11ss %8.2f\n", "FUSE floor: GETXATTR from memory; x100,000 vs kernel", us, k, k / f
		printf "%-52s %11.2fs\n", "  (that cold ls -l can take no less through FUSE)", f }'
	fusermount3 -u "$work/mf" 2>/dev/null || true
	fusermount3 -u "$work/eck" 2>/dev/null || true
	umount "$work/ek" 2>/dev/null || true
fi

# Memory across checkpoints: the readers' caches are bounded per volume
# and together (internal/membudget); the FUSE nodes the kernel keeps are
# not (one per file looked up, until it forgets them).
if want 14 && command -v mkntfs >/dev/null && command -v ntfs-3g >/dev/null; then
	echo; load 14
	tree=testdata/out/perf
	bash testdata/perf/tree.sh "$tree" ntfs
	mkdir -p "$work/mvm" "$work/mmnt"
	bin/mkchain -o "$work/mvm" -name tree "$tree/tree-ntfs.img" "$tree/tree-ntfs.img" "$tree/tree-ntfs.img" \
		"$tree/tree-ntfs.img" "$tree/tree-ntfs.img" "$tree/tree-ntfs.img" >/dev/null
	mounts+=("$work/mmnt")
	memwalk() { # memwalk LABEL BIN [-o OPTS]: every checkpoint's volume walked in turn
		local label=$1 bin=$2 pid c t0 t1 hwm live
		shift 2
		GODEBUG=gctrace=1 "$bin" mount "$@" "$work/mvm" "$work/mmnt" 2>"$work/mgc" &
		pid=$!
		wait_for "$work/mmnt/latest"
		drop_caches
		for c in $(ls "$work/mmnt/checkpoints"); do
			t0=$(now); ls -lR "$work/mmnt/checkpoints/$c/Disk0-vol" >/dev/null; t1=$(now)
			hwm=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
			live=$(grep '^gc ' "$work/mgc" | tail -1 | sed -E 's/.*->([0-9]+) MB, .*/\1/')
			printf '%-52s %8.2fs  peak RSS %5s MiB  live heap %5s MB\n' "$label: ls -lR of $(echo "$c" | cut -c1-13)" \
				"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$hwm" "$live"
		done
		fusermount3 -u "$work/mmnt"; wait "$pid" || true
	}
	if [ -n "${MEMWALK_BIN:-}" ]; then
		memwalk "7 checkpoints, $(basename "$MEMWALK_BIN")" "$MEMWALK_BIN"
	fi
	memwalk "7 checkpoints, default budget" bin/ckptfs
	memwalk "7 checkpoints, -o cache_mem=64M" bin/ckptfs -o cache_mem=64M
fi

if want 12; then
	echo; load 12
	RUNS=$RUNS bash scripts/bench-remote.sh
fi

if want 13; then
	echo; load 13
	RUNS=$RUNS bash scripts/bench-wof.sh "$work/wof"
fi

if want 15 && [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null; then
	echo; load 15
	go test ./diff -run '^$' -bench 'BenchmarkFilesOneChange' -benchtime "${RUNS}x" -count 1 | grep -E '^Benchmark'
fi
