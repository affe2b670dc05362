#!/usr/bin/env bash
# BitLocker speed: section 10 of scripts/bench.sh, and runnable alone
# (bash scripts/bench-bitlocker.sh [WORKDIR]; RUNS=5 for more runs).
#  1. decryption per core: the Go benchmarks of package bitlocker, in MB
#     per CPU-second of the benchmark (the rate of one core, whatever else
#     the machine runs; median and best of 5: a core whose sibling runs
#     other work does less per CPU-second, so on a busy machine the best
#     run is the steadier figure) and in MB/s of wall time;
#  2. a 200 MiB file read cold through the mount (cat) from a FAT32 volume
#     encrypted with AES-XTS-128 (Windows 10's default), AES-XTS-128 with
#     4096-byte sectors and AES-CBC-128 with the Elephant diffuser (Windows
#     7), each against the same file on the unencrypted copy of the volume.
#     Every run has a fresh mount (the FUSE file's page cache is empty) and
#     the volume's VHDX dropped from the page cache; the encrypted and the
#     plain side alternate which goes first (A B, B A, ...); medians of
#     RUNS runs. The mount's CPU seconds per read are printed too: on a
#     busy machine the wall times follow the CPU share a mount gets, the
#     CPU seconds do not; the cpu ratio column compares them.
# The load average is printed with every figure.
#
# No global sync or drop_caches: sync waits for every dirty page of the
# machine, and with other builds and tests writing images it once stalled
# this section for minutes. The files made here are fsynced once, then
# only their own pages are dropped (posix_fadvise DONTNEED through
# dd iflag=nocache), which needs no root either. Every timed read runs
# under timeout, so a stuck mount gives a line saying so, not a hang.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
TIMEOUT=${TIMEOUT:-300}
# BL_VOLUMES: the encrypted volumes, as mkbitlocker's -method:-sector-size;
# BL_GOBENCH=0 leaves out the Go benchmarks.
volumes=${BL_VOLUMES:-xts-128:512 xts-128:4096 elephant-128:512}
BL_GOBENCH=${BL_GOBENCH:-1}
work=${1:-}
own=
if [ -z "$work" ]; then
	work=$(mktemp -d "${TMPDIR:-/var/tmp}/ckptfs-blbench.XXXXXX")
	own=1
fi
# The volumes go in src/, the mount points in mnt/: a mount point may not
# lie in the folder of the disk it shows.
src=$work/src mnt=$work/mnt
mkdir -p "$src" "$mnt"
cleanup() {
	for m in "$mnt"/*; do [ -d "$m" ] && fusermount3 -u "$m" 2>/dev/null || true; done
	sleep 0.3
	if [ -n "$own" ]; then rm -rf "$work"; else rm -rf "$src" "$mnt"; fi
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
uncache() { local u; for u in "$@"; do dd if="$u" iflag=nocache count=0 status=none; done; }

go build -o bin/ckptfs ./cmd/ckptfs
go build -o bin/mkbitlocker ./tools/mkbitlocker
go build -o bin/mkchain ./tools/mkchain

if [ "$BL_GOBENCH" != 0 ]; then
echo "BitLocker decryption, one core (go test -bench Decrypt ./bitlocker, median and best of 5), load $(load)"
go test -run '^$' -bench 'Decrypt' -count 5 ./bitlocker 2>/dev/null |
	awk '/^BenchmarkDecrypt/ { name = $1; sub(/^BenchmarkDecrypt/, "", name); sub(/-[0-9]+$/, "", name)
		for (i = 2; i <= NF; i++) { if ($i == "MB/s") wall[name] = wall[name] " " $(i-1); if ($i == "MB/cpu-s") cpu[name] = cpu[name] " " $(i-1) }
		if (!(name in seen)) { seen[name] = 1; order[++n] = name } }
	function med(s,   a, k, i, j, t) { k = split(s, a, " "); for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((k + 1) / 2)] }
	function best(s,   a, k, i, m) { k = split(s, a, " "); m = a[1]; for (i = 2; i <= k; i++) if (a[i] + 0 > m + 0) m = a[i]; return m }
	END { for (i = 1; i <= n; i++) printf "  %-22s %8.0f MB per CPU-second (best %5.0f) %8.0f MB/s wall\n", order[i], med(cpu[order[i]]), best(cpu[order[i]]), med(wall[order[i]]) }'
echo "  (load after: $(load))"
fi

if ! command -v mkfs.fat >/dev/null || ! command -v mcopy >/dev/null; then
	echo "BitLocker mount reads: skipped (mkfs.fat and mcopy, from dosfstools and mtools, are needed)"
	exit 0
fi

echo "building the BitLocker benchmark volumes (256 MiB FAT32 holding a 200 MiB file)"
mkfs.fat -F 32 -C "$src/plain.img" 262144 >/dev/null
head -c 200M /dev/urandom >"$src/big.bin"
mcopy -i "$src/plain.img" "$src/big.bin" ::BIG.BIN
rm "$src/big.bin"
printf 'password:bench\n' >"$src/keys"
bin/mkchain -o "$src" -name plain "$src/plain.img" >/dev/null
for v in $volumes; do
	m=${v%:*} ss=${v#*:}
	bin/mkbitlocker -o "$src/enc.img" -method "$m" -sector-size "$ss" -password bench "$src/plain.img"
	bin/mkchain -o "$src" -name "enc-$m-$ss" "$src/enc.img" >/dev/null
	rm "$src/enc.img"
done
rm "$src/plain.img"
sync "$src"/*.vhdx # these files only; then their pages can be dropped

# readonce VHDX [KEYS]: mount, drop the VHDX's pages, time cat of the file;
# prints "seconds cpu-seconds" (cpu: the mount's, user + system).
readonce() {
	local src=$1 mp="$mnt/m$RANDOM" pid t0 t1 c0 c1 f keys=()
	[ $# -gt 1 ] && keys=(--bitlocker-keys "$2")
	mkdir -p "$mp"
	bin/ckptfs mount "${keys[@]}" "$src" "$mp" >/dev/null 2>"$mp.err" &
	pid=$!
	f="$mp/checkpoints/Now/Disk0-vol/BIG.BIN"
	for _ in $(seq 400); do [ -e "$f" ] || ! kill -0 "$pid" 2>/dev/null && break; sleep 0.05; done
	if [ ! -e "$f" ]; then
		echo "failed: $(head -c 300 "$mp.err")" >&2
		echo failed
		fusermount3 -u "$mp" 2>/dev/null || true
		return
	fi
	uncache "$src"
	c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	t0=$(now)
	if timeout "$TIMEOUT" cat "$f" >/dev/null; then
		t1=$(now)
		c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
		awk -v a="$t0" -v b="$t1" -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f %.2f\n", b - a, c / hz }'
	else
		echo failed
	fi
	fusermount3 -u "$mp" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$mp" "$mp.err"
}

echo "BitLocker: read a 200 MiB file cold through the mount, vs the same file unencrypted (median of $RUNS, interleaved)"
printf '  %-22s %9s %9s %7s %13s %13s %9s  %s\n' "volume" "enc s" "plain s" "ratio" "enc cpu-s" "plain cpu-s" "cpu ratio" "load at start"
for v in $volumes; do
	m=${v%:*} ss=${v#*:}
	enc="$src/enc-$m-$ss.vhdx"
	l=$(load)
	for i in $(seq "$RUNS"); do
		if [ $((i % 2)) = 1 ]; then
			e=$(readonce "$enc" "$src/keys"); p=$(readonce "$src/plain.vhdx")
		else
			p=$(readonce "$src/plain.vhdx"); e=$(readonce "$enc" "$src/keys")
		fi
		echo "$e $p"
	done >"$work/times"
	if grep -q failed "$work/times"; then
		printf '  %-22s a read failed or took over %ss (load %s)\n' "$m/$ss" "$TIMEOUT" "$(load)"
		continue
	fi
	et=$(awk '{print $1}' "$work/times" | median) pt=$(awk '{print $3}' "$work/times" | median)
	ec=$(awk '{print $2}' "$work/times" | median) pc=$(awk '{print $4}' "$work/times" | median)
	printf '  %-22s %9s %9s %7s %13s %13s %9s  %s\n' "$m/$ss" "$et" "$pt" "$(ratio "$pt" "$et")" "$ec" "$pc" "$(ratio "$pc" "$ec")" "$l"
done
echo "  (ratio: plain ÷ encrypted time, 1.00 = as fast; cpu ratio: the same for the mount's CPU seconds,"
echo "  which the time ratio follows when the cores are busy with other work; load after: $(load))"
