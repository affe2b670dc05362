#!/usr/bin/env bash
# Side-by-side measurements for `make bench`: the same work done by ckptfs
# and by the independent tools, with ratios. Medians of RUNS runs.
#  1. cold-cache sequential read of a 4-layer chain (32 MiB blocks, every
#     block partial): ckptfs mount vs libvhdi's vhdimount vs a go-fuse file
#     served from memory;
#  2. 4 KiB random reads, 4 threads: ckptfs mount vs vhdimount;
#  3. time until a mount of a 10-deep chain answers;
#  4. export of a dynamic VHDX to raw: ckptfs export vs qemu-img convert;
#  5. diff of two checkpoints vs sha256sum of both raw images.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SIZE=${SIZE:-1G}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/ckptfs-bench.XXXXXX")
mounts=()
cleanup() {
	for m in "${mounts[@]}"; do fusermount3 -u "$m" 2>/dev/null || true; done
	sleep 0.5
	rm -rf "$work"
}
trap cleanup EXIT

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
wait_for() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done; echo "timeout waiting for $1" >&2; return 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# seqread FILE: MB/s of a cold-cache sequential read with 1 MiB requests.
seqread() {
	local f=$1 bytes t0 t1
	bytes=$(stat -L -c %s "$f")
	for _ in $(seq "$RUNS"); do
		drop_caches
		t0=$(now); dd if="$f" of=/dev/null bs=1M status=none; t1=$(now)
		awk -v b="$bytes" -v a="$t0" -v c="$t1" 'BEGIN { printf "%.1f\n", b / (c - a) / 1e6 }'
	done | median
}

echo "building a 4-layer chain of $SIZE (32 MiB blocks, every block partial)"
mkdir -p "$work/chain"
bin/benchchain -o "$work/chain" -size "$(numfmt --from=iec "$SIZE")" -block-size $((32 << 20)) -layers 4 >/dev/null
top="$work/chain/layer3.avhdx"

mkdir -p "$work/ck" "$work/vh" "$work/mem"
bin/ckptfs mount "$top" "$work/ck" 2>/dev/null & mounts+=("$work/ck")
vhdimount "$top" "$work/vh" >/dev/null; mounts+=("$work/vh")
bin/memfuse -size "$(numfmt --from=iec "$SIZE")" "$work/mem" & mounts+=("$work/mem")
wait_for "$work/ck/latest"; wait_for "$work/vh/vhdi4"; wait_for "$work/mem/data"
ckraw=$(find "$work/ck/checkpoints/Now/disks" -name '*.raw' | head -1)

echo
printf '%-44s %12s %12s %8s\n' "measure" "ckptfs" "other" "ratio"
ck=$(seqread "$ckraw"); vh=$(seqread "$work/vh/vhdi4"); mem=$(seqread "$work/mem/data")
printf '%-44s %10s/s %10s/s %8s\n' "sequential read MB, vs vhdimount" "$ck" "$vh" "$(ratio "$ck" "$vh")"
printf '%-44s %10s/s %10s/s %8s\n' "sequential read MB, vs go-fuse memory file" "$ck" "$mem" "$(ratio "$ck" "$mem")"

drop_caches
ckr=$(bin/randread -t 4 -d 5s "$ckraw" | awk '{print $1}')
vhr=$(bin/randread -t 4 -d 5s "$work/vh/vhdi4" | awk '{print $1}')
printf '%-44s %12s %12s %8s\n' "random 4 KiB reads/s, 4 threads, vs vhdimount" "$ckr" "$vhr" "$(ratio "$ckr" "$vhr")"

echo
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
done | median | xargs printf '%-44s %11ss\n' "mount of a 10-deep 1 TiB chain ready in"

if bin/ckptfs export --help >/dev/null 2>&1; then
	base="$work/chain/layer0.vhdx"
	for _ in $(seq "$RUNS"); do
		rm -f "$work/e.raw" "$work/q.raw"; drop_caches
		t0=$(now); bin/ckptfs export "$base" layer0 -o "$work/e.raw" --format raw >/dev/null 2>&1; t1=$(now)
		drop_caches
		t2=$(now); qemu-img convert -f vhdx -O raw "$base" "$work/q.raw"; t3=$(now)
		awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN { printf "%.3f %.3f\n", b - a, d - c }'
	done > "$work/export.times"
	e=$(awk '{print $1}' "$work/export.times" | median); q=$(awk '{print $2}' "$work/export.times" | median)
	printf '%-44s %11ss %11ss %8s\n' "export to raw, vs qemu-img convert (speed)" "$e" "$q" "$(ratio "$q" "$e")"
fi

if bin/ckptfs diff --help >/dev/null 2>&1; then
	drop_caches
	t0=$(now); bin/ckptfs diff "$work/chain" layer2 layer3 --ranges >/dev/null 2>&1 || true; t1=$(now)
	drop_caches
	t2=$(now); sha256sum "$(find "$work/ck/checkpoints/layer2/disks" -name '*.raw')" "$ckraw" >/dev/null; t3=$(now)
	awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN { printf "%-44s %11.3fs %11.3fs %8.1f\n", "diff of adjacent checkpoints, vs sha256sum", b - a, d - c, (d - c) / (b - a) }'
fi
