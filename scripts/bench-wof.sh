#!/usr/bin/env bash
# Windows Overlay Filter ("system compression") speed: section 13 of
# scripts/bench.sh, and runnable alone (bash scripts/bench-wof.sh [WORKDIR];
# RUNS=5 for more runs).
#  1. the decoders alone: the Go benchmarks of internal/xpress and
#     internal/lzx (wimlib's chunks of the test corpus, of 4 MiB of an x86
#     binary and of 2 MB of Go source), MB of output per CPU-second;
#  2. every file of a folder read cold through the mount (cat), one folder
#     per WOF format (XPRESS 4K, 8K, 16K, LZX), against wimlib extracting
#     the same files from a WIM holding the same compressed chunks
#     (wimextract --to-stdout: wimlib's own decoders, in C). The files are
#     the Go toolchain's binaries (x86 code, as Windows' system files are)
#     and 16 MB of Go source text, compressed by wimlib's compressors
#     (tools/mkwof lays them out on an NTFS volume as Windows does).
#     Every ckptfs run has a fresh mount and the volume's VHDX dropped
#     from the page cache; the two sides alternate which goes first;
#     medians of RUNS runs; the mount's CPU seconds are printed too.
# The load average is printed with every figure.
# BASE=path/to/older/ckptfs adds that build, run interleaved with this one
# (ckptfs, base, wimlib in turn), and its time and CPU; KEEP=1 with a
# WORKDIR keeps the volume there and reuses it on the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
TIMEOUT=${TIMEOUT:-300}
work=${1:-}
own=
if [ -z "$work" ]; then
	work=$(mktemp -d "${TMPDIR:-/var/tmp}/ckptfs-wofbench.XXXXXX")
	own=1
fi
src=$work/src img=$work/img mnt=$work/mnt wims=$work/wim
mkdir -p "$src" "$img" "$mnt"
cleanup() {
	for m in "$mnt"/*; do [ -d "$m" ] && fusermount3 -u "$m" 2>/dev/null || true; done
	sleep 0.3
	if [ -n "$own" ]; then rm -rf "$work"; elif [ -z "${KEEP:-}" ]; then rm -rf "$src" "$img" "$mnt" "$wims"; fi
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
uncache() { local u; for u in "$@"; do dd if="$u" iflag=nocache count=0 status=none; done; }

for tool in wimcapture wimextract mkntfs ntfs-3g setfattr; do
	if ! command -v "$tool" >/dev/null; then
		echo "WOF: skipped ($tool is missing: wimtools, ntfs-3g and attr are needed)"
		exit 0
	fi
done
go build -o bin/ckptfs ./cmd/ckptfs
go build -o bin/mkwof ./tools/mkwof
go build -o bin/mkchain ./tools/mkchain

echo "WOF decoders alone (go test -bench 'Decompress|Real', median of 3, MB of output per CPU-second of one core), load $(load)"
go test -run '^$' -bench 'Decompress|Real' -count 3 ./internal/xpress ./internal/lzx 2>/dev/null |
	awk '/^pkg:/ { pkg = $2; sub(/.*\//, "", pkg) }
	/^Benchmark/ { name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name); sub(/^Decompress$/, "corpus", name); sub(/^Real\//, "", name)
		k = pkg " " name; if (!(k in r)) order[++n] = k
		for (i = 2; i <= NF; i++) if ($i == "cpu-MB/s" || ($i == "MB/s" && !(k in c))) r[k] = r[k] " " $(i-1)
		for (i = 2; i <= NF; i++) if ($i == "cpu-MB/s") c[k] = 1 }
	function med(s,   a, k, i, j, t) { k = split(s, a, " "); for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((k + 1) / 2)] }
	END { for (i = 1; i <= n; i++) printf "  %-24s %6.0f MB/s\n", order[i], med(r[order[i]]) }'

if [ -n "${KEEP:-}" ] && [ -e "$img/wof.vhdx" ]; then
	echo "reusing the WOF benchmark volume in $work"
else
	echo "building the WOF benchmark volume (the Go toolchain's binaries and 16 MB of Go source, in 4 formats)"
	rm -rf "$src" "$img" "$wims" && mkdir -p "$src" "$img"
	cp "$(go env GOROOT)"/pkg/tool/"$(go env GOOS)_$(go env GOARCH)"/* "$src/"
	find "$(go env GOROOT)/src" -name '*.go' | LC_ALL=C sort | head -4000 | xargs cat 2>/dev/null | head -c 16000000 >"$src/gosrc.txt" || true
	bin/mkwof -o "$work/wof.img" -size $((1 << 30)) -wim-dir "$wims" "$src"
	bin/mkchain -o "$img" -name wof "$work/wof.img" >/dev/null
	rm -rf "$work/wof.img" "$wims/stage"
	sync "$img/wof.vhdx"
fi
bytes=$(cat "$src"/* | wc -c)
files=$(cd "$src" && ls)

# readonce FORMAT [BINARY]: mount, drop the VHDX's pages, time cat of the folder's
# files; prints "seconds cpu-seconds" (cpu: the mount's, user + system).
readonce() {
	local mp="$mnt/m$RANDOM" pid t0 t1 c0 c1 d
	mkdir -p "$mp"
	"${2:-bin/ckptfs}" mount "$img/wof.vhdx" "$mp" >/dev/null 2>"$mp.err" &
	pid=$!
	d="$mp/checkpoints/Now/Disk0-vol/$1"
	for _ in $(seq 400); do [ -e "$d" ] || ! kill -0 "$pid" 2>/dev/null && break; sleep 0.05; done
	if [ ! -e "$d" ]; then
		echo "failed: $(head -c 300 "$mp.err")" >&2
		echo failed
		fusermount3 -u "$mp" 2>/dev/null || true
		return
	fi
	uncache "$img/wof.vhdx"
	c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	t0=$(now)
	if (cd "$d" && timeout "$TIMEOUT" cat $files >/dev/null); then
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

# wimonce FORMAT: wimlib extracts the same files to a pipe; "seconds cpu".
wimonce() {
	local t0 t1
	uncache "$wims/$1.wim"
	t0=$(now)
	# shellcheck disable=SC2086
	/usr/bin/time -f '%U %S' -o "$work/cpu" wimextract "$wims/$1.wim" 1 $files --to-stdout >/dev/null
	t1=$(now)
	awk -v a="$t0" -v b="$t1" '{ printf "%.3f %.2f\n", b - a, $1 + $2 }' "$work/cpu"
}

echo "WOF: read $(numfmt --to=iec "$bytes") of files cold through the mount vs wimextract of the same chunks (median of $RUNS, interleaved)"
printf '  %-10s %9s %9s %7s %12s %12s  %s\n' "format" "ckptfs s" "wimlib s" "ratio" "mount cpu-s" "wimlib cpu-s" "load at start"
for f in ${FORMATS:-xpress4k xpress8k xpress16k lzx}; do
	l=$(load)
	for i in $(seq "$RUNS"); do
		b=-
		if [ $((i % 2)) = 1 ]; then
			c=$(readonce "$f")
			[ -z "${BASE:-}" ] || b=$(readonce "$f" "$BASE")
			w=$(wimonce "$f")
		else
			w=$(wimonce "$f")
			[ -z "${BASE:-}" ] || b=$(readonce "$f" "$BASE")
			c=$(readonce "$f")
		fi
		echo "$c $w $b"
	done >"$work/times"
	if grep -q failed "$work/times"; then
		printf '  %-10s a read failed or took over %ss (load %s)\n' "$f" "$TIMEOUT" "$(load)"
		continue
	fi
	ct=$(awk '{print $1}' "$work/times" | median) wt=$(awk '{print $3}' "$work/times" | median)
	cc=$(awk '{print $2}' "$work/times" | median) wc=$(awk '{print $4}' "$work/times" | median)
	printf '  %-10s %9s %9s %7s %12s %12s  %s\n' "$f" "$ct" "$wt" "$(ratio "$wt" "$ct")" "$cc" "$wc" "$l"
	if [ -n "${BASE:-}" ]; then
		bt=$(awk '{print $5}' "$work/times" | median) bc=$(awk '{print $6}' "$work/times" | median)
		printf '  %-10s %9s %9s %7s %12s %12s  (%s)\n' "  base" "$bt" "" "$(ratio "$wt" "$bt")" "$bc" "" "$BASE"
	fi
done
echo "  (ratio: wimlib time ÷ ckptfs time, above 1.00 = ckptfs faster; load after: $(load))"
