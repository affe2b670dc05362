#!/usr/bin/env bash
# Builds the demo VM folder: OUT/web01/Virtual Hard Disks/ holds a GPT disk
# with one NTFS partition as a Hyper-V style chain: web01.vhdx (the state
# at the first checkpoint) and two .avhdx children (later checkpoints, the
# last being the running state).
#
# How: a raw disk is partitioned with sgdisk (fixed GUIDs), the partition is
# formatted with mkntfs and filled through an ntfs-3g mount (needs root and
# /dev/fuse); after each round of changes the raw disk is kept, and
# tools/mkchain turns the series into the chain, writing into each child only
# the sectors that changed. File contents and times are fixed; NTFS's own
# serial number and change times come from the clock, so images differ
# between runs only there.
set -euo pipefail
. "$(dirname "$0")/../lib/unmount.sh"
out=${1:-testdata/out/demo}
mkchain=${MKCHAIN:-bin/mkchain}
work=$(mktemp -d)
mnt="$work/mnt"
cleanup() { mountpoint -q "$mnt" 2>/dev/null && fusermount3 -u "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$mnt"

disk="$work/disk.raw"
truncate -s 64M "$disk"
# Two runs: sgdisk applies -U/-u only to a table that already exists.
sgdisk -o -n 1:2048:+60M -t 1:0700 "$disk" >/dev/null
sgdisk -U 5E7C1A2B-0C3D-4E5F-8A9B-0C1D2E3F4A5B -u 1:6A7B8C9D-1E2F-4A3B-9C4D-5E6F7A8B9C0D \
	-c 1:"Basic data partition" "$disk" >/dev/null
start=$((2048 * 512))
vol="$work/vol.img"
truncate -s 60M "$vol"
mkntfs -q -F -Q -s 512 -c 4096 -p 2048 -H 255 -S 63 -L Windows "$vol" >/dev/null 2>&1 || { echo "mkntfs failed" >&2; exit 1; }

fill() { ntfs-3g -o streams_interface=xattr "$vol" "$mnt"; }
seal() {
	fuse_unmount "$mnt" "$vol"
	dd if="$vol" of="$disk" bs=1M seek=$((start / 1048576)) conv=notrunc status=none
	cp --sparse=always "$disk" "$work/state$1.raw"
}

# First checkpoint: a small user profile and a config file.
fill
mkdir -p "$mnt/Users/alice/Documents" "$mnt/Windows/System32"
printf 'Quarterly report\nrevenue: 1,204,000\n' > "$mnt/Users/alice/Documents/report.docx"
printf 'call bob\n' > "$mnt/Users/alice/notes.txt"
setfattr -n user.Zone.Identifier -v "[ZoneTransfer] ZoneId=3" "$mnt/Users/alice/notes.txt"
printf '[boot]\nverbose=0\n' > "$mnt/Windows/System32/config.ini"
head -c 3145728 /dev/zero | tr '\0' 'A' > "$mnt/Users/alice/Documents/big.bin"
touch -d '2026-11-20 10:00:00 UTC' "$mnt/Users/alice/Documents/report.docx" "$mnt/Users/alice/notes.txt" \
	"$mnt/Windows/System32/config.ini" "$mnt/Users/alice/Documents/big.bin"
seal 0

# Second checkpoint: notes edited, an update log added, the config removed.
fill
printf 'call bob\nbuy milk\n' > "$mnt/Users/alice/notes.txt"
printf 'KB5001 installed\n' > "$mnt/Windows/update.log"
rm "$mnt/Windows/System32/config.ini"
touch -d '2026-11-21 09:30:00 UTC' "$mnt/Users/alice/notes.txt" "$mnt/Windows/update.log"
seal 1

# Live state: the report renamed and rewritten.
fill
mv "$mnt/Users/alice/Documents/report.docx" "$mnt/Users/alice/Documents/report-final.docx"
printf 'Quarterly report (final)\nrevenue: 1,230,500\n' > "$mnt/Users/alice/Documents/report-final.docx"
touch -d '2026-11-22 17:45:00 UTC' "$mnt/Users/alice/Documents/report-final.docx"
seal 2

dest="$out/web01/Virtual Hard Disks"
rm -rf "$out/web01"
mkdir -p "$dest"
mapfile -t files < <("$mkchain" -o "$dest" -name web01 -seed web01 "$work/state0.raw" "$work/state1.raw" "$work/state2.raw")
# Without VM configuration a checkpoint's time is its disk file's mtime.
times=('2026-11-20 10:05:00 UTC' '2026-11-21 09:35:00 UTC' '2026-11-22 17:50:00 UTC')
for i in "${!files[@]}"; do
	touch -d "${times[$i]}" "${files[$i]}"
done
printf '%s\n' "${files[@]}"
