# ops.sh: run_history MNT N applies N random operations to the mounted
# filesystem, each logged as one line; finish_dirty leaves it needing its
# journal or log replayed. Operations the filesystem refuses (ENOSPC, a
# collapse it cannot do, an xattr too big) are logged and skipped: the
# kernel's view afterwards is the oracle either way. The lists of paths
# may hold names already gone; an operation on them fails harmlessly.
# Sourced by gen.sh, which sets pool, reflink, casefold, xmax, fsname.

# F: regular files, D: folders ("." is the root), L: other non-folders.
F=() D=(.) L=() nn=0

# X: log and run a command, ignoring its failure.
X() {
	echo "${*//$M\//}"
	"$@" >/dev/null 2>&1 || echo "  (failed)"
}

# newname: NAME is a fresh name of a random shape.
newname() {
	nn=$((nn + 1))
	rnd 12
	case $R in
	0) rnd 200; NAME=n$nn-$(printf '%*s' $((R + 40)) '' | tr ' ' x) ;;
	1) NAME="été-$nn-Ünïcode" ;;
	2) NAME="with space $nn" ;;
	3) NAME=".hidden$nn" ;;
	*) NAME=f$nn ;;
	esac
}

pickdir() { oneof "${D[@]}"; DIR=$R; }
pickfile() { [ ${#F[@]} -gt 0 ] || return 1; oneof "${F[@]}"; FILE=$R; }

# size_of FILE: SIZE is its size (0 when gone).
size_of() { SIZE=$(stat -c %s "$M/$1" 2>/dev/null || echo 0); }

# rsize: R is a size, mostly small, sometimes large.
rsize() {
	rnd 10
	case $R in
	0) R=0 ;;
	1 | 2) rnd 60 ;;
	3 | 4) rnd 5000 ;;
	5 | 6 | 7) rnd 200000 ;;
	8) rnd 1100000 ;;
	9) rnd 3000000 ;;
	esac
}

# wr FILE OFF LEN: writes LEN bytes at OFF, cut from the pool
# (incompressible), one repeated byte, or zeros.
wr() {
	local f=$1 off=$2 len=$3 skip
	[ "$len" -gt 0 ] || return 0
	[ "$len" -le 4000000 ] || len=4000000
	rnd 4
	case $R in
	0 | 1) rnd $((4194304 - len + 1)); skip=$R
		X xfs_io -f -c "pwrite -q -i $pool -s $skip $off $len" "$M/$f" ;;
	2) rnd 256; X xfs_io -f -c "pwrite -q -S $R $off $len" "$M/$f" ;;
	3) X xfs_io -f -c "pwrite -q -S 0 $off $len" "$M/$f" ;;
	esac
}

# aligned MAX: R is a multiple of 64 KiB below MAX (collapse and insert
# need whole blocks, of any size up to 64 KiB).
aligned() { rnd $(($1 / 65536 + 1)); R=$((R * 65536)); }

op_create() {
	pickdir; newname; local f=$DIR/$NAME
	rsize; [ "$R" -gt 0 ] && wr "$f" 0 "$R" || X touch "$M/$f"
	F+=("$f")
}

op_overwrite() {
	pickfile || return 0; size_of "$FILE"
	rnd $((SIZE + 1)); local off=$R
	rnd 70000; wr "$FILE" "$off" $((R + 1))
}

op_append() {
	pickfile || return 0; size_of "$FILE"
	rsize; wr "$FILE" "$SIZE" $((R + 1))
}

op_truncate() {
	pickfile || return 0; size_of "$FILE"
	if chance 50; then rnd $((SIZE + 1)); else rnd 5000000; R=$((SIZE + R)); fi
	X xfs_io -c "truncate $R" "$M/$FILE"
}

op_falloc() {
	pickfile || return 0; size_of "$FILE"
	local lim=$((SIZE + 300000)) off len
	rnd 6
	case $R in
	0) rnd $lim; off=$R; rnd 400000; X xfs_io -c "falloc $off $((R + 1))" "$M/$FILE" ;;
	1) rnd $lim; off=$R; rnd 400000; X xfs_io -c "falloc -k $off $((R + 1))" "$M/$FILE" ;;
	2) rnd $lim; off=$R; rnd 200000; X xfs_io -c "fpunch $off $((R + 1))" "$M/$FILE" ;;
	3) rnd $lim; off=$R; rnd 200000; X xfs_io -c "fzero $off $((R + 1))" "$M/$FILE" ;;
	4) aligned "$SIZE"; off=$R; aligned 300000; len=$((R + 65536))
		X xfs_io -c "fcollapse $off $len" "$M/$FILE" ;;
	5) aligned "$SIZE"; off=$R; aligned 300000; len=$((R + 65536))
		X xfs_io -c "finsert $off $len" "$M/$FILE" ;;
	esac
}

op_sparse() {
	pickdir; newname; local f=$DIR/$NAME off
	oneof 100000 5000000 70000000 5000000000; rnd "$R"; off=$R
	rnd 5000; wr "$f" "$off" $((R + 1))
	chance 50 && { rnd 100000; wr "$f" 0 $((R + 1)); }
	F+=("$f")
}

# op_fragment: a file of many extents (every other 4 KiB written, some
# then punched or rewritten), in one xfs_io run: XFS data forks in btree
# form, ext extent trees of several levels and long block maps.
op_fragment() {
	pickdir; newname; local f=$M/$DIR/$NAME n k cmds=()
	oneof 40 300 1500; n=$R
	for ((k = 0; k < n; k++)); do
		rnd 256; cmds+=(-c "pwrite -q -S $R $((k * 8192)) 4096")
	done
	chance 50 && { rnd $((n * 8192)); cmds+=(-c "fpunch $R 100000"); }
	chance 50 && { rnd $((n * 8192)); cmds+=(-c "falloc $R 300000"); }
	echo "fragment $DIR/$NAME: $n extents"
	xfs_io -f "${cmds[@]}" "$f" >/dev/null 2>&1 || echo "  (failed)"
	F+=("$DIR/$NAME")
}

op_mkdir() {
	pickdir; newname
	X mkdir "$M/$DIR/$NAME" && D+=("$DIR/$NAME")
	[ "$casefold" = 1 ] && chance 30 && X chattr +F "$M/$DIR/$NAME"
}

op_hardlink() {
	pickfile || return 0; pickdir; newname
	X ln "$M/$FILE" "$M/$DIR/$NAME" && F+=("$DIR/$NAME")
}

op_symlink() {
	pickdir; newname; local target
	rnd 4
	case $R in
	0) target=t ;;
	1) rnd 50; target=$(printf '%*s' $((R + 1)) '' | tr ' ' s) ;;
	2) rnd 400; target=../$(printf '%*s' $((R + 50)) '' | tr ' ' l)/end ;;
	3) rnd 4000; target=/$(printf '%*s' $((R + 60)) '' | tr ' ' L) ;;
	esac
	X ln -s "$target" "$M/$DIR/$NAME" && L+=("$DIR/$NAME")
}

op_special() {
	pickdir; newname
	rnd 3
	case $R in
	0) X mkfifo "$M/$DIR/$NAME" ;;
	1) local ma mi; rnd 4096; ma=$R; rnd 1048576; mi=$R; X mknod "$M/$DIR/$NAME" c "$ma" "$mi" ;;
	2) local ma mi; rnd 256; ma=$R; rnd 256; mi=$R; X mknod "$M/$DIR/$NAME" b "$ma" "$mi" ;;
	esac
	L+=("$DIR/$NAME")
}

# rename_prefix OLD NEW: the lists follow a folder's rename.
rename_prefix() {
	local i
	for i in "${!F[@]}"; do [[ ${F[i]} == "$1"/* ]] && F[i]=$2${F[i]#"$1"}; done
	for i in "${!D[@]}"; do [[ ${D[i]} == "$1" || ${D[i]} == "$1"/* ]] && D[i]=$2${D[i]#"$1"}; done
	for i in "${!L[@]}"; do [[ ${L[i]} == "$1"/* ]] && L[i]=$2${L[i]#"$1"}; done
}

op_rename() {
	pickdir; local to=$DIR
	rnd 4
	case $R in
	0) # a folder into another one not under it
		pickdir; local d=$DIR
		[ "$d" = . ] && return 0
		[[ $to == "$d" || $to == "$d"/* ]] && return 0
		newname
		X mv -T "$M/$d" "$M/$to/$NAME" && rename_prefix "$d" "$to/$NAME" ;;
	1) # over an existing file
		pickfile || return 0; local a=$FILE; pickfile
		X mv -T "$M/$a" "$M/$FILE" ;;
	*) pickfile || return 0; local i=$R; newname
		local idx
		for idx in "${!F[@]}"; do [ "${F[idx]}" = "$FILE" ] && break; done
		X mv -T "$M/$FILE" "$M/$to/$NAME" && F[idx]=$to/$NAME ;;
	esac
}

op_delete() {
	rnd 10
	if [ "$R" = 0 ]; then
		pickdir; [ "$DIR" = . ] && return 0
		X rm -rf "$M/$DIR"
	elif [ "$R" = 1 ] && [ ${#L[@]} -gt 0 ]; then
		oneof "${L[@]}"; X rm -f "$M/$R"
	else
		pickfile || return 0; X rm -f "$M/$FILE"
	fi
}

# op_bigdir: a folder of many entries (XFS block, leaf, node and btree
# forms; ext htrees of several levels), then most of them deleted.
op_bigdir() {
	pickdir; newname; local d=$M/$DIR/$NAME n pad keep=1
	oneof 30 300 3000 8000; n=$R
	oneof 1 20 120; pad=$(printf '%*s' "$R" '' | tr ' ' p)
	echo "bigdir $DIR/$NAME $n entries, names +$R"
	mkdir "$d" || return 0
	D+=("$DIR/$NAME")
	(cd "$d" && seq -f "e%g-$pad" 1 "$n" | xargs touch) || echo "  (failed)"
	if chance 60; then
		rnd 5; local keep=$((R + 2))
		echo "  deleting all but one in $keep"
		(cd "$d" && seq -f "e%g-$pad" 1 "$n" | awk -v k="$keep" 'NR % k' | xargs rm -f) || echo "  (failed)"
	fi
	chance 50 && { rnd 16; F+=("$DIR/$NAME/e$((R * keep + 1))-$pad"); }
	return 0
}

# xvalue N: V is about N bytes (N rounded down to whole base64 groups) of
# the pool, as setfattr's base64 form, cut from B64 without a process.
xvalue() {
	local n=$(($1 / 3 * 4))
	V=
	[ "$n" -gt 0 ] || return 0
	rnd $(((${#B64} - n) / 4)); V=0s${B64:R*4:n}
}

op_xattr() {
	local p ns sz
	if chance 70; then pickfile || return 0; p=$FILE; else pickdir; p=$DIR; fi
	oneof user user user trusted security; ns=$R
	if chance 15; then # many: an attribute fork in extents or a btree
		rnd 200; local k n=$((R + 20))
		echo "xattrs: $n on $p"
		{
			echo "# file: $M/$p"
			for ((k = 0; k < n; k++)); do
				rnd 300; xvalue "$R"
				echo "$ns.many$k=${V:-\"\"}"
			done
		} >"$work/xattrs"
		setfattr --restore="$work/xattrs" 2>/dev/null || echo "  (failed)"
		return 0
	fi
	if chance 15; then
		X setfattr -x "$ns.a$nn" "$M/$p"; return 0
	fi
	oneof 0 5 60 250 1000 3000 10000 65536; sz=$R
	[ "$sz" -le "$xmax" ] || sz=$xmax
	xvalue "$sz"; nn=$((nn + 1))
	echo "setfattr $ns.a$nn ($sz bytes) $p"
	setfattr -n "$ns.a$nn" -v "$V" "$M/$p" 2>/dev/null || echo "  (failed)"
}

op_acl() {
	rnd 1000; local u=$R
	if chance 70; then
		pickfile || return 0; X setfacl -m "u:$u:rwx,g:$((u + 7)):r-x,m::rwx" "$M/$FILE"
	else
		pickdir; X setfacl -d -m "u:$u:rw-,o::r--" "$M/$DIR"
	fi
}

op_chmod() {
	local p; if chance 60; then pickfile || return 0; p=$FILE; else pickdir; p=$DIR; fi
	rnd 8192; X chmod "$(printf '%o' "$R")" "$M/$p"
}

op_chown() {
	local p u g
	if chance 70; then pickfile || return 0; p=$FILE; else pickdir; p=$DIR; fi
	oneof 0 1000 65534 100000 4000000000; u=$R
	oneof 0 100 65533 2000000000; g=$R
	X chown -h "$u:$g" "$M/$p"
}

op_utimes() {
	local p t n
	rnd 3
	case $R in
	0) pickfile || return 0; p=$FILE ;;
	1) pickdir; p=$DIR ;;
	2) [ ${#L[@]} -gt 0 ] || return 0; oneof "${L[@]}"; p=$R ;;
	esac
	oneof -2208988800 -2147483648 -1 -86399 0 1 1700000000 2147483647 2147483648 4102444800 13000000000
	t=$R; rnd 1000000000; n=$(printf '%09d' "$R")
	oneof -a -m "" ""
	X touch -h $R -d "@$t.$n" "$M/$p"
}

op_reflink() {
	[ "$reflink" = 1 ] || return 0
	pickfile || return 0; local src=$FILE
	if chance 50; then
		pickdir; newname
		X cp --reflink=always "$M/$src" "$M/$DIR/$NAME" && F+=("$DIR/$NAME")
	else
		pickfile; size_of "$src"; local so do ln
		aligned "$SIZE"; so=$R; aligned 2000000; do=$R; aligned 500000; ln=$((R + 65536))
		X xfs_io -c "reflink $M/$src $so $do $ln" "$M/$FILE"
	fi
}

op_sync() {
	rnd 3
	case $R in
	0) X sync -f "$M" ;;
	*) pickfile || return 0; X xfs_io -c fsync "$M/$FILE" ;;
	esac
}

op_subvol() {
	[ "$fsname" = btrfs ] || return 0
	pickdir; newname
	rnd 4
	case $R in
	0 | 1) X btrfs subvolume create "$M/$DIR/$NAME" && D+=("$DIR/$NAME") ;;
	2) local s; oneof "${D[@]}"; s=$R
		X btrfs subvolume snapshot "$M/$s" "$M/$DIR/$NAME" ;;
	3) local s; oneof "${D[@]}"; s=$R
		X btrfs subvolume snapshot -r "$M/$s" "$M/$DIR/$NAME" ;;
	esac
}

run_history() {
	M=$1
	local i
	for ((i = 0; i < $2; i++)); do
		rnd 100
		if [ "$R" -lt 11 ]; then op_create
		elif [ "$R" -lt 18 ]; then op_overwrite
		elif [ "$R" -lt 23 ]; then op_append
		elif [ "$R" -lt 28 ]; then op_truncate
		elif [ "$R" -lt 36 ]; then op_falloc
		elif [ "$R" -lt 38 ]; then op_sparse
		elif [ "$R" -lt 39 ]; then op_fragment
		elif [ "$R" -lt 45 ]; then op_mkdir
		elif [ "$R" -lt 49 ]; then op_hardlink
		elif [ "$R" -lt 53 ]; then op_symlink
		elif [ "$R" -lt 56 ]; then op_special
		elif [ "$R" -lt 62 ]; then op_rename
		elif [ "$R" -lt 68 ]; then op_delete
		elif [ "$R" -lt 70 ]; then op_bigdir
		elif [ "$R" -lt 78 ]; then op_xattr
		elif [ "$R" -lt 80 ]; then op_acl
		elif [ "$R" -lt 83 ]; then op_chmod
		elif [ "$R" -lt 86 ]; then op_chown
		elif [ "$R" -lt 91 ]; then op_utimes
		elif [ "$R" -lt 95 ]; then op_reflink
		elif [ "$R" -lt 97 ]; then op_sync
		else op_subvol
		fi
	done
}

# finish_dirty FS MNT IMG FROZEN: the history's end is left in the journal
# or log only. XFS and ext4 are shut down (the log flushed first or not);
# btrfs, which has no shutdown, is copied to FROZEN while mounted, right
# after fsyncs that write its log tree (mounted with commit=3600, so that
# no periodic commit comes first).
finish_dirty() {
	local fs=$1 i
	X sync -f "$M"
	run_history "$M" 40
	if [ "$fs" = btrfs ]; then
		# A commit first: one of the operations above may have marked the
		# transaction for a full commit at the next fsync (a rename does).
		X sync -f "$M"
		for i in 1 2 3 4 5 6; do
			op_create; X xfs_io -c fsync "$M/${F[-1]}"
			op_overwrite; X xfs_io -c fsync "$M/$FILE"
			op_append; X xfs_io -c fsync "$M/$FILE"
		done
		X cp --sparse=always "$3" "$4"
		echo "log tree at $(od -An -tu8 -j $((65536 + 0x60)) -N8 "$4")"
		return 0
	fi
	if chance 50; then X xfs_io -x -c "shutdown -f" "$M"; else X xfs_io -x -c shutdown "$M"; fi
}
