# mkfs.sh: pick_mkfs FS IMG sets mkfs (the command formatting IMG), mopts
# (mount options), nops (operations to run) and what the history may use:
# reflink (cp --reflink works), xmax (the largest xattr value to try),
# casefold (chattr +F folders). Options are drawn among those distributions
# use and the unusual ones the kernel still mounts. Sourced by gen.sh.

pick_mkfs() {
	local fs=$1 img=$2
	reflink=0 casefold=0 xmax=65536 mopts=
	oneof 80 150 300; nops=$R
	case $fs in
	xfs) pick_xfs "$img" ;;
	ext4) pick_ext4 "$img" ;;
	btrfs) pick_btrfs "$img" ;;
	*) echo "unknown filesystem $fs" >&2; exit 2 ;;
	esac
}

# XFS v5 only: the kernel no longer mounts v4 (crc=0), so it cannot be the
# oracle there.
pick_xfs() {
	local bs m i n d
	oneof 1024 2048 4096 4096 4096; bs=$R
	m=crc=1
	chance 60 && { reflink=1; m+=,reflink=1; } || m+=,reflink=0
	chance 40 && m+=,rmapbt=1 || m+=,rmapbt=0
	chance 70 && m+=,bigtime=1 || m+=,bigtime=0
	if chance 85; then
		m+=,finobt=1
		chance 60 && m+=,inobtcount=1 || m+=,inobtcount=0
	else
		m+=,finobt=0,inobtcount=0
	fi
	oneof 512 512 1024 2048; i=size=$R
	[ "$R" -le $((bs / 2)) ] || i=size=$((bs < 1024 ? 512 : bs / 2)) # at most half a block
	chance 70 && i+=,sparse=1 || i+=,sparse=0
	chance 40 && i+=,nrext64=1 || i+=,nrext64=0
	oneof "$bs" 4096 4096 8192 16384 65536; n=$R
	[ "$n" -lt "$bs" ] && n=$bs
	[ "$n" -lt 4096 ] && n=4096
	oneof 1 2 4; d=agcount=$R
	# A log of 32 MiB: the one mkfs.xfs sizes for so small a volume can be
	# below what the kernel requires with rmapbt and large inodes.
	mkfs=(mkfs.xfs -f -b size="$bs" -m "$m" -i "$i" -n size="$n" -d "$d" -l size=32m)
	[ "$bs" = 4096 ] && chance 20 && mkfs+=(-s size=4096)
	mkfs+=("$img")
	truncate -s 160M "$img"
	# Below mkfs.xfs's 300 MiB floor, which the fstests variables lift.
	export TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1
	chance 30 && mopts=logbsize=256k
	chance 20 && mopts=${mopts:+$mopts,}inode32
	return 0
}

pick_ext4() {
	local bs t feats=() e=() size=96M
	oneof 1024 2048 4096 4096; bs=$R
	oneof ext4 ext4 ext4 ext4 ext3 ext2; t=$R
	mkfs=(mke2fs -F -t "$t" -b "$bs")
	if [ "$t" = ext4 ]; then
		chance 10 && feats+=(^extent ^64bit) # 64bit needs extents
		chance 10 && feats+=(^has_journal)
		chance 15 && feats+=(^64bit)
		chance 20 && feats+=(^metadata_csum)
		chance 15 && feats+=(meta_bg ^resize_inode)
		chance 20 && feats+=(^huge_file)
		chance 20 && feats+=(large_dir)
		chance 25 && feats+=(ea_inode)
		chance 15 && feats+=(^dir_index)
		if chance 15 && [[ " ${feats[*]} " != *" ^extent "* ]]; then
			feats+=(bigalloc); mkfs+=(-C $((bs * 16)))
		fi
		if chance 15; then
			mkfs+=(-I 128)
		else
			chance 25 && feats+=(inline_data)
			oneof 256 256 512 1024; mkfs+=(-I "$R")
		fi
		# Only where the kernel can mount it (CONFIG_UNICODE).
		if chance 20 && [ -e /sys/fs/ext4/features/casefold ]; then
			feats+=(casefold); e+=(encoding=utf8); casefold=1
		fi
		chance 20 && mopts=nodelalloc
	else
		chance 20 && feats+=(^dir_index)
		chance 30 && mkfs+=(-I 128)
		chance 20 && feats+=(large_dir)
	fi
	if [[ " ${feats[*]} " != *" ea_inode "* ]]; then xmax=$((bs - 200)); fi
	[ ${#feats[@]} -gt 0 ] && mkfs+=(-O "$(IFS=,; echo "${feats[*]}")")
	[ ${#e[@]} -gt 0 ] && mkfs+=(-E "$(IFS=,; echo "${e[*]}")")
	mkfs+=("$img")
	truncate -s "$size" "$img"
	return 0
}

pick_btrfs() {
	local ns feats=() o=()
	oneof 4096 8192 16384 16384 32768 65536; ns=$R
	reflink=1
	mkfs=(mkfs.btrfs -f -s 4096)
	if chance 15; then
		mkfs+=(-M); ns=4096
	fi
	mkfs+=(-n "$ns")
	chance 30 && feats+=(^no-holes)
	[ ${#feats[@]} -gt 0 ] && mkfs+=(-O "$(IFS=,; echo "${feats[*]}")")
	oneof crc32c crc32c xxhash sha256 blake2; mkfs+=(--csum "$R")
	if chance 30; then
		mkfs+=(-m dup)
		[ "$ns" = 4096 ] && [[ " ${mkfs[*]} " == *" -M "* ]] && mkfs+=(-d dup) # mixed: one profile
	fi
	mkfs+=("$img")
	truncate -s 256M "$img"
	oneof "" "" compress=zlib compress=lzo compress=zstd compress=zstd:9 compress-force=zstd compress-force=lzo compress-force=zlib:3
	[ -n "$R" ] && o+=("$R")
	oneof "" ssd nossd; [ -n "$R" ] && o+=("$R")
	oneof "" "" max_inline=0 max_inline=3000; [ -n "$R" ] && o+=("$R")
	[ "$mode" = dirty ] && o+=(commit=3600)
	mopts=$(IFS=,; echo "${o[*]}")
	return 0
}
