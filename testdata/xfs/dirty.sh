#!/bin/bash
# dirty.sh MNT: on a mounted XFS, writes a base tree and syncs, then makes
# changes that reach the log but not their final places (new, renamed,
# removed and rewritten files, a directory growing from short form to
# leaf form, modes, owners, times, links, attributes), forces the log and
# shuts the filesystem down, so it stays dirty as after a crash or a
# crash-consistent checkpoint. File data is synced before the shutdown:
# the log carries metadata only.
set -eu
m=$1
export LC_ALL=C TZ=UTC
cd "$m"
mkdir base grow big
for i in $(seq 1 3000); do : >big/entry-of-a-directory-in-node-form-$i; done
echo attrs >base/attrs
for i in $(seq 1 50); do setfattr -n "user.attr-$i" -v "value $i" base/attrs; done
seq 1 50000 >base/numbers
for i in 1 2 3 4 5; do echo "old $i" >base/f$i; done
echo keep >base/keep
setfattr -n user.before -v 1 base/keep
ln -s numbers base/link
# Freezing writes all metadata back and empties the log: this is the
# state a norecovery mount shows.
sync
fsfreeze -f "$m"
fsfreeze -u "$m"
# Changes after the freeze: logged only.
for i in $(seq 1 300); do echo "$i" >grow/new-entry-with-a-long-name-$i; done
mv base/f1 base/renamed
rm base/f2
mkdir base/newdir
echo inside >base/newdir/file
chmod 600 base/f3 && chown 1234:5678 base/f3
touch -d '2011-12-13 14:15:16.171819202' base/f4
ln base/f5 base/f5-hardlink
ln -s /somewhere/else base/newlink
setfattr -n user.after -v "$(seq 1 30 | tr '\n' ' ')" base/keep
setfattr -n trusted.t -v 0x0102 base/keep
setfattr -x user.before base/keep
xfs_io -f -c "pwrite -q -S 0x61 0 100000" -c fsync base/written
xfs_io -c "pwrite -q -S 0x62 4096 8192" -c fsync base/numbers
xfs_io -c "truncate 70000" base/numbers
args=()
for i in $(seq 0 59); do args+=(-c "pwrite -q -S $((i + 1)) $((i * 8192)) 4096"); done
xfs_io -f "${args[@]}" -c fsync base/fragmented
sync -f base/written
# A node-form directory and a leaf attribute fork changed, a remote
# attribute value, a symlink long enough for its own block.
for i in $(seq 1 3000 7); do rm big/entry-of-a-directory-in-node-form-$i; done
for i in $(seq 3001 3400); do : >big/entry-of-a-directory-in-node-form-$i; done
mv big/entry-of-a-directory-in-node-form-2 big/renamed-entry
for i in $(seq 1 3 50); do setfattr -x "user.attr-$i" base/attrs; done
setfattr -n user.remote -v "0x$(head -c 9000 base/numbers | od -An -v -tx1 | tr -d ' \n')" base/attrs
ln -s "$(printf 'segment/%.0s' $(seq 1 80))end" base/longlink
# Flush the log, then stop all I/O: the metadata stays unwritten.
xfs_io -x -c "shutdown -f" "$m"
