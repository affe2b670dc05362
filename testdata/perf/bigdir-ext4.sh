#!/bin/bash
# bigdir-ext4.sh OUTDIR: OUTDIR/big-ext4.img, the volume of the ext4 `ls -l`
# benchmark of scripts/bench.sh: 200 MiB, one folder big/ of 100,000 empty
# files (entry-00000.txt ...), written through the kernel's loop mount, so
# the folder is the htree the kernel makes (root only; mke2fs -d takes the
# square of the entries to fill one folder). Kept while this script is
# unchanged (IMG.stamp holds its hash).
set -euo pipefail
out=${1:?usage: $0 OUTDIR}
mkdir -p "$out"
img=$out/big-ext4.img
version=$(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-16)
[ -s "$img" ] && [ "$(cat "$img.stamp" 2>/dev/null)" = "$version" ] && exit 0
rm -f "$img.tmp"
truncate -s 200M "$img.tmp"
mkfs.ext4 -q -F -N 110000 -L ckptbig -E root_owner=0:0 "$img.tmp"
mnt=$(mktemp -d)
trap 'umount "$mnt" 2>/dev/null || true; rmdir "$mnt"' EXIT
mount -o loop "$img.tmp" "$mnt"
mkdir "$mnt/big"
(cd "$mnt/big" && for i in $(seq -w 0 99999); do : >"entry-$i.txt"; done)
umount "$mnt"
mv "$img.tmp" "$img"
echo "$version" >"$img.stamp"
