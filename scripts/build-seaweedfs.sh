#!/usr/bin/env bash
# Builds SeaweedFS's weed (a real S3 server for the remote-source tests)
# once per version into a cache directory and prints the binary's path.
# Its module has a replace directive, so `go install mod@version` refuses
# it: the module is downloaded and built inside its own directory as the
# main module. About 13 minutes and 233 MB on a 2-core machine; later runs
# find the cached binary and return at once.
set -euo pipefail
version=v0.0.0-20261109003541-7506e5f91cd6
cache=${CKPTFS_WEED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ckptfs}
bin=$cache/weed-$version
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$cache"
dir=$(go mod download -json "github.com/seaweedfs/seaweedfs@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "build-seaweedfs: module download failed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The module cache is read-only; build from it with a writable output.
(cd "$dir/weed" && GOFLAGS=-mod=mod go build -o "$tmp/weed" .)
mv "$tmp/weed" "$bin"
echo "$bin"
