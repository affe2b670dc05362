#!/usr/bin/env bash
# The demo: build a small Hyper-V style VM folder (a GPT disk with an NTFS
# partition, a base disk and two checkpoints), then list it, check it, diff
# two checkpoints, mount it read-only, restore a file from the oldest
# checkpoint with cp -a, and unmount.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=bin/ckptfs
src=testdata/out/demo/web01
echo "== building the example VM folder ($src)"
bash testdata/demo/gen.sh testdata/out/demo
echo
echo "== ckptfs ls $src"
$bin ls "$src"
echo
echo "== ckptfs check $src"
$bin check "$src"
echo
echo "== ckptfs diff $src web01 Now   (what changed since the first checkpoint)"
$bin diff "$src" web01 Now --files
echo
mnt=$(mktemp -d)
restore=$(mktemp -d)
$bin mount "$src" "$mnt" &
pid=$!
trap 'fusermount3 -u "$mnt" 2>/dev/null || true; wait $pid 2>/dev/null || true; rmdir "$mnt"' EXIT
for _ in $(seq 50); do [ -e "$mnt/latest" ] && break; sleep 0.1; done
echo "== the mounted tree ($mnt)"
ls "$mnt" "$mnt/checkpoints" "$mnt/by-time"
echo
echo "== Users/alice in the first checkpoint and now"
ls -l "$mnt/checkpoints/web01/Disk0-p1/Users/alice/Documents" "$mnt/checkpoints/Now/Disk0-p1/Users/alice/Documents"
echo
echo "== restore report.docx from the first checkpoint (cp -a keeps its time)"
cp -a "$mnt/checkpoints/web01/Disk0-p1/Users/alice/Documents/report.docx" "$restore/"
ls -l --time-style=long-iso "$restore"
cat "$restore/report.docx"
echo
echo "== the same without FUSE: ckptfs cat"
$bin cat "$src" web01 Disk0-p1/Users/alice/notes.txt
echo
echo "== unmounting"
fusermount3 -u "$mnt"
wait $pid
trap - EXIT
rmdir "$mnt"
echo "restored file kept in $restore"
