#!/usr/bin/env bash
# Section 12 of `make bench` (scripts/bench.sh runs it; it also runs alone):
# object storage on the loopback interface, the same servers the remote
# tests use: nginx (plain HTTP ranges), SeaweedFS's S3 gateway (the binary
# scripts/build-seaweedfs.sh caches) and Azurite (npm).
#
#  - sequential read of a checkpoint's raw image (`ckptfs cat SRC CK
#    disks/Disk0.raw > /dev/null`; for S3 also dd of the mount's raw
#    image) against a plain ranged download of as many bytes of one object
#    of the chain from the same server: curl for nginx, the SDK (one
#    GetObject / DownloadStream with a Range) for S3 and Azure. The chain is
#    tools/benchchain's 4-layer chain of $RSIZE (32 MiB blocks, every block
#    of every child partial), opened from its top layer; 1 layer is its
#    base disk opened alone.
#  - for 4 layers, a second reference beside the plain download: the SDK
#    fetching the ranges of each layer the image needs (objput ranges
#    computes them from the local chain; a layer's ranges joined across
#    gaps of up to 1 MiB: the SDK fetched them faster so than joined
#    across ckptfs's own 256 KiB; requests of at most 32 MiB, 4 in flight
#    per object, every object at once, as ckptfs's read-ahead may): what
#    the chain's requests cost with no reader between them. The plain
#    download sends one request; a chain needs one per cluster of a
#    child's runs, and each costs the server CPU this machine shares;
#  - for reference, one plain GET with Go's net/http against curl on nginx:
#    the most a Go reader gets from that server here (no ckptfs in it);
#  - the requests opening the chain costs, per layer (CKPTFS_REMOTE_STATS);
#  - a first `ls` of a guest folder over S3: a cold `ckptfs mount` of the
#    4-layer NTFS VM folder the remote tests use (testdata/remote/gen.sh)
#    until `ls` of a folder of the live state's volume returns.
#
# RUNS runs of each, ckptfs and the plain download interleaved (the order
# alternates), medians; the load average is printed with every figure (the
# machine is shared).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
RSIZE=${RSIZE:-256M}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/ckptfs-bench-remote.XXXXXX")
pids=()
mounts=()
cleanup() {
	for m in "${mounts[@]}"; do fusermount3 -u "$m" 2>/dev/null || true; done
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# (every 10 ms: the mount row counts the wait for the mount to come up)
wait_for() { for _ in $(seq 2000); do [ -e "$1" ] && return 0; sleep 0.01; done; echo "timeout waiting for $1" >&2; return 1; }
listening() { for _ in $(seq 600); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing listens on $1" >&2; return 1; }
# a free port p with p+10000 free too (SeaweedFS's gRPC ports)
port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		if ! (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null && ! (echo >"/dev/tcp/127.0.0.1/$((p + 10000))") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

weed=${CKPTFS_WEED:-${CKPTFS_WEED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ckptfs}/weed-v0.0.0-20261109003541-7506e5f91cd6}
if [ ! -x "$weed" ] || ! command -v azurite-blob >/dev/null || ! command -v nginx >/dev/null; then
	echo "object storage: skipped (needs nginx, azurite-blob and SeaweedFS: scripts/build-seaweedfs.sh)"
	exit 0
fi
mkdir -p bin
go build -o bin/ckptfs ./cmd/ckptfs
go build -o bin/benchchain ./tools/benchchain
go build -o bin/objput ./tools/objput
go build -o bin/mkchain ./tools/mkchain

echo "building a 4-layer chain of $RSIZE (32 MiB blocks, every block partial)"
mkdir -p "$work/chain"
bin/benchchain -o "$work/chain" -size "$(numfmt --from=iec "$RSIZE")" -block-size $((32 << 20)) -layers 4 >/dev/null
rawsize=$(numfmt --from=iec "$RSIZE")
bin/objput ranges "$work/chain/layer3.avhdx" $((1 << 20)) >"$work/ranges"
vm=testdata/out/remote/web02
if [ ! -d "$vm/Virtual Machines" ]; then
	MKCHAIN=bin/mkchain bash testdata/remote/gen.sh testdata/out/remote >/dev/null
fi

# The servers.
np=$(port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $work/nginx/body;
	proxy_temp_path $work/nginx/proxy;
	fastcgi_temp_path $work/nginx/fastcgi;
	uwsgi_temp_path $work/nginx/uwsgi;
	scgi_temp_path $work/nginx/scgi;
	server { listen 127.0.0.1:$np; root $work/chain; }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" >/dev/null 2>&1 &
pids+=($!)
npid=$!
sp=$(port) mp=$(port) vp=$(port) fp=$(port)
mkdir -p "$work/weed"
"$weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$work/weed" -master.port="$mp" -volume.port="$vp" \
	-filer -filer.port="$fp" -s3 -s3.port="$sp" -volume.max=40 -master.volumeSizeLimitMB=256 >"$work/weed.log" 2>&1 &
pids+=($!)
spid=$!
ap=$(port)
mkdir -p "$work/azurite"
azurite-blob --blobHost 127.0.0.1 --blobPort "$ap" --location "$work/azurite" --skipApiVersionCheck --silent --loose >"$work/azurite.log" 2>&1 &
pids+=($!)
apid=$!
listening "$np"; listening "$sp"; listening "$ap"

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export AWS_CONFIG_FILE=$work/none AWS_SHARED_CREDENTIALS_FILE=$work/none AWS_EC2_METADATA_DISABLED=true
s3=http://127.0.0.1:$sp
az=http://127.0.0.1:$ap/devstoreaccount1
acct=devstoreaccount1
key=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw== # Azurite's published development key
export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$acct;AccountKey=$key;BlobEndpoint=$az;"
echo "uploading to SeaweedFS and Azurite"
bin/objput put s3 "$s3" bench/chain "$work/chain"
bin/objput put s3 "$s3" bench/vm "$vm"
bin/objput put azure "$AZURE_STORAGE_CONNECTION_STRING" bench/chain "$work/chain"

echo
echo "12. object storage on loopback (median of $RUNS, interleaved; load average 1/5/15 min at each figure)"
echo "    CPU: seconds of CPU per run (median), the reader's own (ckptfs, its mount and dd; curl or the SDK), then the server's"
printf '%-54s %9s %9s %6s  %-13s %-13s %s\n' "measure ($RSIZE raw image)" "ckptfs" "plain" "ratio" "reader ck/pl" "server ck/pl" "load"

# cpu PID: CPU seconds a process has used (user + system)
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# one CMD SRVPID: wall seconds, the CPU seconds of CMD (its children
# included: `times` in this subshell counts only what it waited for) and
# the server's
one() {
	local t0 s0 t1 s1
	s0=$(cpu "$2")
	t0=$(now)
	eval "$1" >/dev/null
	t1=$(now)
	s1=$(cpu "$2")
	# `times` in a pipe or $(...) would run in a fresh subshell, which
	# has no children: it writes to a file from this one.
	times >"$work/times.out"
	tail -1 "$work/times.out" | awk -v a="$t0" -v b="$t1" -v s0="$s0" -v s1="$s1" '{
		split($1, u, /[ms]/); split($2, y, /[ms]/)
		printf "%.3f %.2f %.2f\n", b - a, u[1] * 60 + u[2] + y[1] * 60 + y[2], s1 - s0 }'
}

# pair LABEL CKCMD PLAINCMD SRVPID: RUNS interleaved timings of both, as
# rates, and the CPU each took
pair() {
	local label=$1 ck=$2 plain=$3 srv=$4 a b ca cb i l
	l=$(load)
	for i in $(seq "$RUNS"); do
		if [ $((i % 2)) = 1 ]; then a=$(one "$ck" "$srv"); b=$(one "$plain" "$srv"); else b=$(one "$plain" "$srv"); a=$(one "$ck" "$srv"); fi
		echo "$a $b"
	done >"$work/pair.times"
	a=$(awk '{print $1}' "$work/pair.times" | median)
	b=$(awk '{print $4}' "$work/pair.times" | median)
	ca=$(awk '{print $2}' "$work/pair.times" | median)
	cb=$(awk '{print $5}' "$work/pair.times" | median)
	sa=$(awk '{print $3}' "$work/pair.times" | median)
	sb=$(awk '{print $6}' "$work/pair.times" | median)
	printf '%-54s %6s MB/s %4s MB/s %6s  %5s / %-5s %5s / %-5s %s -> %s\n' "$label" "$(rate "$rawsize" "$a")" "$(rate "$rawsize" "$b")" \
		"$(ratio "$b" "$a")" "$ca" "$cb" "$sa" "$sb" "$l" "$(load)"
}

nsrc=http://127.0.0.1:$np/layer3.avhdx
ssrc=s3://bench/chain/layer3.avhdx
asrc=azblob://$acct/bench/chain/layer3.avhdx
curl_get="curl -sf -r 0-$((rawsize - 1)) -o /dev/null http://127.0.0.1:$np/layer0.vhdx"
s3_get="bin/objput get s3 $s3 bench/chain/layer0.vhdx $rawsize"
az_get="bin/objput get azure '$AZURE_STORAGE_CONNECTION_STRING' bench/chain/layer0.vhdx $rawsize"
s3_ranges="bin/objput getranges s3 $s3 bench/chain $work/ranges 4 $((32 << 20))"
az_ranges="bin/objput getranges azure '$AZURE_STORAGE_CONNECTION_STRING' bench/chain $work/ranges 4 $((32 << 20))"
# A reference, no ckptfs in it: one plain GET with Go's net/http (no SDK)
# against curl, both reading the same bytes from nginx. curl reads 100 KiB
# at a time into one buffer; what a Go reader gets at best here.
go_get="bin/objput get http http://127.0.0.1:$np layer0.vhdx $rawsize"
pair "nginx: one Go net/http GET vs curl (reference)" "$go_get" "$curl_get" "$npid"
# 4 layers: the chain's top layer; 1 layer: the base disk as its own
# source (a checkpoint of the chain opened from its top would open the
# four layers to read one).
for what in "4 layers" "1 layer"; do
	top=layer3.avhdx
	[ "$what" = "1 layer" ] && top=layer0.vhdx
	pair "nginx: cat raw image ($what) vs curl" "bin/ckptfs cat ${nsrc%/*}/$top Now disks/Disk0.raw" "$curl_get" "$npid"
	pair "S3 (SeaweedFS): cat raw image ($what) vs SDK GetObject" "bin/ckptfs cat --endpoint $s3 ${ssrc%/*}/$top Now disks/Disk0.raw" "$s3_get" "$spid"
	pair "Azure (Azurite): cat raw image ($what) vs SDK download" "bin/ckptfs cat --endpoint $az ${asrc%/*}/$top Now disks/Disk0.raw" "$az_get" "$apid"
	[ "$what" = "4 layers" ] || continue
	pair "S3 (SeaweedFS): cat raw image ($what) vs SDK, its ranges" "bin/ckptfs cat --endpoint $s3 ${ssrc%/*}/$top Now disks/Disk0.raw" "$s3_ranges" "$spid"
	pair "Azure (Azurite): cat raw image ($what) vs SDK, its ranges" "bin/ckptfs cat --endpoint $az ${asrc%/*}/$top Now disks/Disk0.raw" "$az_ranges" "$apid"
done

# The mount: dd of the raw image, each run on a fresh mount.
mkdir -p "$work/mnt"
mounts+=("$work/mnt")
mount_dd() {
	local m
	bin/ckptfs mount --endpoint "$s3" "$ssrc" "$work/mnt" >/dev/null 2>&1 &
	m=$!
	wait_for "$work/mnt/latest"
	dd if="$work/mnt/checkpoints/Now/disks/Disk0.raw" of=/dev/null bs=1M status=none
	fusermount3 -u "$work/mnt"
	wait "$m" || true
}
pair "S3 (SeaweedFS): mount, dd raw image (4 layers) vs SDK" "mount_dd" "$s3_get" "$spid"

echo
echo "requests opening the 4-layer chain and the base alone (ckptfs info: the open and the probe of the disk), per object:"
for src in "$nsrc" "$ssrc" "$asrc" "${ssrc%/*}/layer0.vhdx"; do
	CKPTFS_REMOTE_STATS=1 bin/ckptfs info --endpoint "$([ "$src" = "$asrc" ] && echo "$az" || echo "$s3")" "$src" 2>&1 >/dev/null | sed 's/^remote: /  /'
done
echo "ranges of each layer the raw image (4 layers) needs, joined across gaps of up to 1 MiB (the second reference; requests of at most 32 MiB):"
awk '{ n[$1]++; b[$1] += $3; r[$1] += int(($3 + 33554431) / 33554432) } END { for (l in n) printf "  %-14s %4d ranges %4d requests %10d bytes\n", l, n[l], r[l], b[l] }' "$work/ranges" | sort -k1,1
echo "requests of one cat of the raw image (4 layers), S3:"
CKPTFS_REMOTE_STATS=1 bin/ckptfs cat --endpoint "$s3" "$ssrc" Now disks/Disk0.raw 2>&1 >/dev/null | sed 's/^remote: /  /'

# First ls of a guest folder: a cold process mounts the VM folder and lists
# a folder of the live state's NTFS volume.
echo
first_ls() {
	local t0 t1 m
	t0=$(now)
	bin/ckptfs mount --endpoint "$s3" s3://bench/vm "$work/mnt" >/dev/null 2>&1 &
	m=$!
	wait_for "$work/mnt/latest"
	ls "$work/mnt/checkpoints/Now/Disk0-p1/data" >/dev/null
	t1=$(now)
	fusermount3 -u "$work/mnt"
	wait "$m" || true
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
l=$(load)
t=$(for _ in $(seq "$RUNS"); do first_ls; done | median)
printf '%-54s %7ss %9s %6s  %s -> %s\n' "S3: cold mount until ls of a guest folder returns" "$t" "(< 1 s)" "" "$l" "$(load)"
