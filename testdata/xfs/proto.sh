#!/bin/bash
# proto.sh DIR: writes a mkfs.xfs protofile (-p) for the tree in DIR:
# regular files, directories, symbolic links, devices and FIFOs with their
# modes and owners. Protofiles of xfsprogs 6.1 know no hard links, times or
# sticky bits; mkfs gives every inode the time it runs.
set -eu
export LC_ALL=C
entry() { # entry PATH NAME INDENT
	local p=$1 name=$2 ind=$3 t u g m
	read -r t m u g < <(stat -c '%F %a %u %g' "$p" | sed 's/regular empty file/regular/; s/regular file/regular/; s/symbolic link/symlink/; s/character special file/char/; s/block special file/block/')
	m=$(printf '%04o' "0$m")
	local su=- sg=-
	(( 8#$m & 04000 )) && su=u
	(( 8#$m & 02000 )) && sg=g
	local perm=${m:1}
	case $t in
	regular) echo "$ind$name -$su$sg$perm $u $g $p" ;;
	directory)
		echo "$ind$name d$su$sg$perm $u $g"
		for c in $(ls -A "$p"); do entry "$p/$c" "$c" "$ind "; done
		echo "$ind\$" ;;
	symlink) echo "$ind$name l$su$sg$perm $u $g $(readlink "$p")" ;;
	char) echo "$ind$name c$su$sg$perm $u $g $(stat -c '%Hr %Lr' "$p")" ;;
	block) echo "$ind$name b$su$sg$perm $u $g $(stat -c '%Hr %Lr' "$p")" ;;
	fifo) echo "$ind$name p$su$sg$perm $u $g" ;;
	esac
}
echo "/dev/null"
echo "0 0"
root=$1
m=$(stat -c '%a %u %g' "$root")
set -- $m
echo "d--$(printf '%03o' "0$1") $2 $3"
for c in $(ls -A "$root"); do entry "$root/$c" "$c" " "; done
echo '$'
