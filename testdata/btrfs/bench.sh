#!/bin/bash
# Builds OUT/bench50k.img: 50,000 files (0-16 KiB, deterministic sizes and
# content) in 500 directories, written by the kernel's btrfs with
# compress=zstd:1 as Fedora mounts it. Run as root. Used by
# scripts/bench.sh to compare the ckptfs mount with the kernel's.
set -euo pipefail
OUT=${1:?usage: bench.sh OUT}
mkdir -p "$OUT"
img=$OUT/bench50k.img
[ -e "$img" ] && exit 0
mnt=$(mktemp -d)
trap 'umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true; rmdir "$mnt"' EXIT
truncate -s 1G "$img.tmp"
mkfs.btrfs -q -f -L bench50k "$img.tmp" >/dev/null 2>&1
mount -o loop,compress=zstd:1 "$img.tmp" "$mnt"
python3 - "$mnt" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(50000)
words = [b"alpha", b"beta", b"gamma", b"delta", b"btrfs", b"subvolume", b"extent", b"\n"]
for d in range(500):
    dp = os.path.join(root, "d%03d" % d)
    os.mkdir(dp)
    for f in range(100):
        n = rng.randrange(0, 16384)
        if rng.random() < 0.5:
            data = rng.randbytes(n)
        else:
            data = b" ".join(rng.choice(words) for _ in range(n // 5 + 1))[:n]
        with open(os.path.join(dp, "f%03d" % f), "wb") as fh:
            fh.write(data)
PY
umount "$mnt"
mv "$img.tmp" "$img"
