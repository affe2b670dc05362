#!/bin/bash
# populate-tiny.sh DIR: a few files of each kind for the 16 MiB image the
# damaged-field tests and the fuzz seed use: a short form and a block
# directory, a file of a few extents, a B+tree file, inline and remote
# links, short form and leaf attributes.
set -eu
cd "$1"
export LC_ALL=C TZ=UTC
mkdir sf block
echo one >sf/a
echo two >sf/b
for i in $(seq 1 40); do echo "$i" >block/entry-with-a-name-$i; done
seq 1 3000 >data
args=()
for i in $(seq 0 99); do args+=(-c "pwrite -q -S $((i + 1)) $((i * 2048)) 1024"); done
xfs_io -f "${args[@]}" btree
ln -s data link
ln -s "$(printf 'remote/%.0s' $(seq 1 100))" longlink
setfattr -n user.a -v 1 data
echo x >attrs
for i in $(seq 1 30); do setfattr -n "user.attr-$i" -v "value $i" attrs; done
touch -d '2001-02-03 04:05:06.123456789' data
