#!/bin/bash
# wrapped.sh MNT: on a mounted XFS with a small log, writes a base tree
# and freezes (all written back), then forces the log 3000 times (a file
# written and fsynced each time), so the log wraps several times, makes a
# few last changes and shuts the filesystem down with the log flushed: a
# dirty log whose tail and head lie cycles after its start.
set -eu
m=$1
cd "$m"
mkdir base churn
for i in $(seq 1 200); do echo "$i" >base/f$i; done
sync
fsfreeze -f "$m"
fsfreeze -u "$m"
args=()
for i in $(seq 1 3000); do args+=(-c "open -f churn/f$i" -c "pwrite -q -S $((i % 250 + 1)) 0 $((i % 700 + 1))" -c fsync -c close); done
xfs_io "${args[@]}"
for i in $(seq 1 300); do echo "late $i" >base/late-$i; done
mv base/f1 base/renamed
rm base/f2
xfs_io -x -c "shutdown -f" "$m"
