#!/bin/bash
# gen.sh OUT VARIANT: builds an ext3/ext4 image frozen the way a Hyper-V
# checkpoint of a running Linux guest freezes it: transactions committed
# to the journal (each `sync FILE` is an fsync, which commits one) whose
# home blocks are not written yet. The image is copied while the
# filesystem is still mounted, as a crash would leave it.
#
# Makes, in OUT:
#   VARIANT.img           the frozen image (needs_recovery set)
#   VARIANT.journal       the journal inode's bytes, dumped by debugfs
#   VARIANT.jblocks       the journal's filesystem blocks, one per line
#   VARIANT.replayed.img  the same image after the kernel replayed it
#                         (mount -o ro of a copy on a loop device)
#
# Variants:
#   v3       ext4, 4 KiB blocks, metadata_csum (journal checksum v3, 64-bit)
#   ext3     ext3, 1 KiB blocks, no checksums, 32-bit tags
#   v1csum   ext4 without metadata_csum mounted with journal_checksum (v1)
#   wrap     ext4, 1 KiB blocks, the smallest journal, wrapped by fsyncs
# Must run as root. Fixed UUIDs and file contents; times are not fixed.
set -eu
out=$1
variant=$2
mkdir -p "$out"
img=$out/$variant.img
work=$(mktemp -d "$out/.$variant.XXXXXX")
loop=
cleanup() {
	mountpoint -q "$work/m" && umount "$work/m"
	[ -n "$loop" ] && losetup -d "$loop"
	rm -rf "$work"
}
trap cleanup EXIT

uuid=3a1f6c2e-8b4d-4e0f-9a7c-5d2e1f0a6b3c
mopts=
case $variant in
v3) mk=(mkfs.ext4 -b 4096) ;;
ext3) mk=(mkfs.ext3 -b 1024) ;;
v1csum) mk=(mkfs.ext4 -b 4096 -O ^metadata_csum); mopts=journal_checksum ;;
wrap) mk=(mkfs.ext4 -b 1024 -J size=1) ;;
*) echo "unknown variant $variant" >&2; exit 2 ;;
esac

base=$work/base.img
truncate -s 64M "$base"
E2FSPROGS_FAKE_TIME=1700000000 "${mk[@]}" -q -F -U $uuid -E hash_seed=$uuid "$base"
loop=$(losetup -f --show "$base")
mkdir "$work/m"
mount ${mopts:+-o $mopts} "$loop" "$work/m"
m=$work/m

# What reaches its home blocks before the freeze.
mkdir "$m/keep"
for i in $(seq 1 20); do printf 'kept file %d\n' "$i" >"$m/keep/f$i"; done
head -c 300000 /dev/zero | tr '\0' 'k' >"$m/keep/big"
sync

# What only the journal holds at the freeze.
printf 'written after the last sync\n' >"$m/late"
ln -s keep/f1 "$m/link"
rm "$m/keep/f3"
chmod 600 "$m/keep/f2"
printf 'appended\n' >>"$m/keep/f4"
mkdir "$m/new"
for i in $(seq 1 200); do printf 'new %d\n' "$i" >"$m/new/n$i"; done
sync "$m/new/n1" "$m/new"
# A directory grown and then removed: its freed blocks are revoked, so the
# older copies logged for them must not be replayed.
mkdir "$m/gone"
for i in $(seq 1 300); do : >"$m/gone/a-long-name-to-fill-directory-blocks-$i"; done
sync "$m/gone"
rm -rf "$m/gone"
sync "$m/late"
if [ "$variant" = wrap ]; then
	# One transaction per fsync, a few blocks each: the 1 MiB journal
	# wraps around several times.
	for i in $(seq 1 400); do
		printf 'wrap %d\n' "$i" >"$m/w$i"
		sync "$m/w$i"
	done
fi
printf 'last\n' >"$m/new/last"
sync "$m/new/last" "$m/new"

cp --sparse=always "$base" "$work/frozen.img"
umount "$m"
losetup -d "$loop"
loop=

# The kernel's flusher writes the home blocks of committed transactions
# once they have been dirty for vm.dirty_expire_centisecs (30 s): on a
# loaded machine the script can take that long, and then the journal holds
# nothing the volume lacks. Build again (a few times) rather than hand the
# tests a fixture that tests nothing. The wrapped variant writes older
# transactions home by design; its last ones stay in the journal.
if [ "$variant" != wrap ] && debugfs -c -R "stat /late" "$work/frozen.img" 2>/dev/null | grep -q Inode; then
	attempt=${JBD2_GEN_ATTEMPT:-1}
	if [ "$attempt" -ge 4 ]; then
		echo "gen.sh $variant: the kernel wrote the journal's blocks home before the copy, $attempt times" >&2
		exit 1
	fi
	echo "gen.sh $variant: the journal's blocks reached home before the copy; building again" >&2
	cleanup
	trap - EXIT
	JBD2_GEN_ATTEMPT=$((attempt + 1)) exec bash "$0" "$@"
fi

debugfs -c -R "dump <8> $work/journal" "$work/frozen.img" 2>/dev/null
debugfs -c -R "blocks <8>" "$work/frozen.img" 2>/dev/null | tr ' ' '\n' | grep . >"$work/jblocks"
[ -s "$work/journal" ] || { echo "gen.sh $variant: debugfs dumped no journal" >&2; exit 1; }
if ! dumpe2fs -h "$work/frozen.img" 2>/dev/null | grep -q needs_recovery; then
	echo "gen.sh $variant: the frozen image has nothing to recover" >&2
	exit 1
fi

cp --sparse=always "$work/frozen.img" "$work/replayed.img"
loop=$(losetup -f --show "$work/replayed.img")
mount -o ro "$loop" "$m"
umount "$m"
losetup -d "$loop"
loop=

mv "$work/journal" "$out/$variant.journal"
mv "$work/jblocks" "$out/$variant.jblocks"
mv "$work/replayed.img" "$out/$variant.replayed.img"
mv "$work/frozen.img" "$img"
