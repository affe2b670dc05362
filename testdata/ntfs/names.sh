#!/bin/bash
# names.sh IMG: a small NTFS volume for the name tests of ntfs/names_test.go:
# a DOS 8.3 name beside a long one (set through ntfs-3g's
# system.ntfs_dos_name, as Windows would create it), nested directories in
# mixed case, two names differing only in case (POSIX namespace, which
# ntfs-3g writes), and non-ASCII names whose case folding goes through
# $UpCase.
set -euo pipefail
. "$(dirname "$0")/../lib/unmount.sh"
img=$1
rm -f "$img"
truncate -s 16M "$img"
mkntfs -q -F -Q -L names "$img" >/dev/null 2>&1
mnt=$(mktemp -d)
ntfs-3g "$img" "$mnt"
trap 'cd /; fuse_unmount "$mnt" "$img" || umount "$mnt"; rmdir "$mnt"' EXIT
cd "$mnt"
echo 'long name' >'Long File Name.txt'
setfattr -n system.ntfs_dos_name -v 'LONGFI~1.TXT' 'Long File Name.txt'
mkdir -p 'Program Files/Common Files'
echo 'common' >'Program Files/Common Files/data.bin'
setfattr -n system.ntfs_dos_name -v 'PROGRA~1' 'Program Files'
mkdir -p Users/alice
echo 'notes' >Users/alice/Notes.txt
mkdir case
echo lower >case/abc
echo upper >case/ABC
echo 'école' >'École.txt'
echo 'straße' >'Straße.txt'
