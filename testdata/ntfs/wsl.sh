#!/bin/bash
# wsl.sh IMG: writes a small NTFS volume holding what the Windows Subsystem
# for Linux and Windows leave behind as reparse points and extended
# attributes, for ntfs/wsl_test.go:
#  - FIFO, socket, character and block devices, made by ntfs-3g's
#    special_files=wsl mode (reparse tags 0x80000023-26, $LXMOD and $LXDEV);
#  - WSL symlinks (tag 0xA000001D: version 2 and a UTF-8 target), written as
#    raw reparse data;
#  - a file and a directory with WSL owner and mode ($LXUID, $LXGID,
#    $LXMOD), written as a raw $EA through system.ntfs_ea;
#  - an app execution alias (tag 0x8000001B) and an unknown Microsoft tag on
#    files that keep their own data.
set -euo pipefail
. "$(dirname "$0")/../lib/unmount.sh"
img=$1
rm -f "$img"
truncate -s 16M "$img"
mkntfs -q -F -Q -L wsl "$img" >/dev/null 2>&1
mnt=$(mktemp -d)
ntfs-3g -o special_files=wsl "$img" "$mnt"
trap 'fuse_unmount "$mnt" "$img" || umount "$mnt"; rmdir "$mnt"' EXIT

# ea NAME HEX: one FILE_FULL_EA_INFORMATION entry, value given as hex.
# NextEntryOffset is the entry's padded length, for the last entry too, as
# ntfs-3g writes and requires.
ea() {
	local name=$1 val=$2
	local nlen=${#name} vlen=$((${#val} / 2))
	local len=$((8 + nlen + 1 + vlen))
	local pad=$(((4 - len % 4) % 4))
	printf '%s' "$(le32 $((len + pad)))00$(printf %02x "$nlen")$(le16 "$vlen")$(printf %s "$name" | od -An -tx1 | tr -d ' \n')00$val$(printf '%0*d' $((pad * 2)) 0)"
}
eas() { printf '%s' "$@"; }
le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
le16() { printf '%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)); }
# lxlink NAME TARGET: a WSL symlink.
lxlink() {
	local hex
	hex=$(printf %s "$2" | od -An -tx1 | tr -d ' \n')
	touch "$mnt/$1"
	setfattr -h -n system.ntfs_reparse_data -v "0x$(le32 $((0xA000001D)))$(le16 $((4 + ${#hex} / 2)))0000$(le32 2)$hex" "$mnt/$1"
}

cd "$mnt"
echo 'hello from wsl' >target.txt
mkdir dir
echo 'inside' >dir/file.txt
mkfifo fifo
mknod chr c 1 3
mknod blk b 7 0
python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")'
cd /
lxlink rel-link target.txt
lxlink abs-link /etc/passwd
lxlink up-link ../../escape
lxlink dir/up-link ../target.txt
lxlink utf8-link 'dir/été.txt'

echo 'owned' >"$mnt/owned.txt"
setfattr -n system.ntfs_ea -v "0x$(eas "$(ea '$LXUID' "$(le32 1000)")" "$(ea '$LXGID' "$(le32 1001)")" "$(ea '$LXMOD' "$(le32 $((0100640)))")")" "$mnt/owned.txt"
mkdir "$mnt/owned-dir"
setfattr -n system.ntfs_ea -v "0x$(eas "$(ea '$LXUID' "$(le32 0)")" "$(ea '$LXGID' "$(le32 27)")" "$(ea '$LXMOD' "$(le32 $((042750)))")")" "$mnt/owned-dir"

printf 'alias data' >"$mnt/alias.exe"
setfattr -h -n system.ntfs_reparse_data -v "0x1b0000800c00000003000000610062006300000000" "$mnt/alias.exe" 2>/dev/null ||
	setfattr -h -n system.ntfs_reparse_data -v "0x1b0000800c000000030000006100620063000000" "$mnt/alias.exe"
printf 'other data' >"$mnt/other-tag"
setfattr -h -n system.ntfs_reparse_data -v "0xffff0080040000000102030a" "$mnt/other-tag"
