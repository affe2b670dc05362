#!/bin/bash
# casefold.sh IMG: an ext4 volume with the casefold feature and one
# case-insensitive folder, folded/, of 300 files, indexed by e2fsck -D on
# the folded names (as the kernel indexes them). Written with debugfs and
# e2fsck alone: the kernels here lack CONFIG_UNICODE and cannot mount it.
set -eu
img=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export E2FSPROGS_FAKE_TIME=1700000000
truncate -s 32M "$img"
mke2fs -q -F -t ext4 -O casefold -E encoding=utf8,hash_seed=6f1c3e2a-6a4b-4d41-9e2f-0123456789ab \
	-U 0b0e0c0a-1111-4222-8333-444455556666 "$img"
{
	echo "mkdir folded"
	# casefold (0x40000000) and extents (0x80000)
	echo "set_inode_field folded flags 0x40080000"
	echo "cd folded"
	for i in $(seq 1 300); do
		echo "$i" >"$tmp/f$i"
		echo "write $tmp/f$i Mixed-Case-Entry-With-Long-Name-$i.TXT"
	done
} >"$tmp/cmds"
debugfs -w -f "$tmp/cmds" "$img" >/dev/null 2>&1
# -D re-indexes every directory; 1 means "errors corrected", as expected.
e2fsck -fyD "$img" >/dev/null 2>&1 || [ $? -eq 1 ]
debugfs -R "stat folded" "$img" 2>/dev/null | grep -q "Flags: 0x40081000" || {
	echo "casefold.sh: folded/ is not an indexed case-insensitive folder" >&2
	exit 1
}
