#!/usr/bin/env bash
# gen.sh builds the NTFS test volumes used by the ntfs package tests.
#
#   testdata/ntfs/gen.sh [OUTDIR] [small|tiny|big|all]
#
# Volumes are made with mkntfs and filled through ntfs-3g (a FUSE mount,
# so this needs root or a user allowed to mount). Everything is as
# deterministic as mkntfs and ntfs-3g allow: contents come from fixed
# seeds, times are set with touch -d; the volume serial and the record
# layout chosen by ntfs-3g are its own.
#
#   small.img  64 MiB, 4 KiB clusters: every feature the reader handles
#   tiny.img   2 MiB, 512-byte clusters: the seed of FuzzVolume
#   big.img    a directory of 100,000 entries and a 256 MiB file (benchmarks)
set -euo pipefail
. "$(dirname "$0")/../lib/unmount.sh"

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../out/ntfs}
what=${2:-small}
mkdir -p "$out"
out=$(cd "$out" && pwd)

mnt=$(mktemp -d)
cleanup() {
	cd /
	if mountpoint -q "$mnt"; then fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" || true; fi
	rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT

# bytes SEED COUNT prints COUNT deterministic pseudo-random bytes.
bytes() {
	# openssl dies of SIGPIPE once head has enough: not a failure
	(set +o pipefail; openssl enc -aes-128-ctr -nosalt -pass "pass:$1" -pbkdf2 -iter 1 </dev/zero 2>/dev/null | head -c "$2")
}

# text N prints N lines of compressible text.
text() {
	local i
	for ((i = 0; i < $1; i++)); do printf 'line %06d: the quick brown fox jumps over the lazy dog\n' "$i"; done
}

newvol() { # newvol IMG SIZE_MIB LABEL [CLUSTER_BYTES]
	rm -f "$1" "$1.tmp"
	truncate -s "$2M" "$1.tmp"
	# mkntfs talks about boot geometry and "not a block device" even with
	# -q; its output is shown only when it fails.
	local out
	if ! out=$(mkntfs -q -F -Q -s 512 -c "${4:-4096}" -L "$3" "$1.tmp" 2>&1); then
		printf '%s\n' "$out" >&2
		return 1
	fi
}

mountvol() { mounted=$1; ntfs-3g -o streams_interface=xattr,compression "$1" "$mnt"; }
umountvol() { sync; fuse_unmount "$mnt" "$mounted"; }

settimes() { # give every entry a fixed mtime so comparisons are stable
	find "$mnt" -mindepth 1 -not -type l -exec touch -m -d '2024-03-01 12:00:00 UTC' {} +
}

small() {
	local img=$out/small.img i d
	newvol "$img" 64 "CkptTest"
	mountvol "$img.tmp"
	cd "$mnt"

	# plain files of various sizes, including empty and resident ones
	: >empty.txt
	printf 'hello, ntfs\n' >hello.txt
	bytes small 700 >resident.bin
	bytes medium 100000 >medium.bin
	bytes large 5000000 >large.bin

	# unicode names and case
	printf 'grüße\n' >"Grüße.txt"
	printf 'japanese\n' >"日本語のファイル.txt"
	printf 'emoji\n' >"emoji-😀.txt"
	printf 'upper\n' >"MiXeD CaSe.TXT"
	mkdir "Ünïcödé dir"
	printf 'inside\n' >"Ünïcödé dir/ÅÄÖ.txt"
	printf 'a long name\n' >"a file with a rather long name that is not an 8.3 name at all.document"

	# a directory with thousands of entries (INDX B+ tree with sub-nodes)
	mkdir bigdir
	for ((i = 0; i < 3000; i++)); do printf '%d\n' "$i" >"bigdir/entry-$i.txt"; done

	# hard links
	mkdir links
	printf 'linked content\n' >links/original.txt
	ln links/original.txt links/second.txt
	ln links/original.txt third-link.txt

	# a file with so many hard links that its names overflow one record ($ATTRIBUTE_LIST)
	mkdir manylinks
	printf 'many names\n' >manylinks/target.txt
	for ((i = 0; i < 120; i++)); do ln manylinks/target.txt "manylinks/link-with-a-long-name-number-$i.txt"; done

	# sparse file: data, hole, data, trailing hole
	bytes sp1 10000 | dd of=sparse.bin bs=4096 conv=notrunc status=none
	bytes sp2 5000 | dd of=sparse.bin bs=1 seek=$((8 * 1024 * 1024)) conv=notrunc status=none
	truncate -s $((20 * 1024 * 1024)) sparse.bin

	# compressed files: in a directory marked compressed (0x800)
	mkdir compressed
	setfattr -h -v 0x00000800 -n system.ntfs_attrib_be compressed
	text 20000 >compressed/text.txt
	bytes comprand 200000 >compressed/random.bin
	{ text 500; head -c 300000 /dev/zero; text 500; } >compressed/mixed.txt
	truncate -s 1000000 compressed/sparse-compressed.bin
	printf 'tiny\n' >compressed/tiny.txt

	# named streams
	printf 'main data\n' >streams.txt
	setfattr -n user.small -v "small stream" streams.txt
	setfattr -n user.Zone.Identifier -v "[ZoneTransfer]
ZoneId=3" streams.txt
	bytes bigstream 60000 >/tmp/ntfs-gen-stream.$$
	setfattr -n user.big -v "0s$(base64 -w0 /tmp/ntfs-gen-stream.$$)" streams.txt
	rm -f /tmp/ntfs-gen-stream.$$
	mkdir streamdir
	setfattr -n user.dirstream -v "on a directory" streamdir

	# a deep tree
	d=deep
	for ((i = 0; i < 30; i++)); do d=$d/level$i; done
	mkdir -p "$d"
	printf 'bottom\n' >"$d/bottom.txt"

	# symbolic links (ntfs-3g writes them as reparse points)
	ln -s hello.txt link-to-hello
	ln -s "Ünïcödé dir/ÅÄÖ.txt" link-relative-unicode
	ln -s links link-to-dir
	ln -s /nonexistent/absolute link-absolute

	# attributes: read-only, hidden, system
	printf 'ro\n' >readonly.txt
	setfattr -h -v 0x00000001 -n system.ntfs_attrib_be readonly.txt
	printf 'hidden\n' >hidden.txt
	setfattr -h -v 0x00000002 -n system.ntfs_attrib_be hidden.txt

	fragment
	settimes
	cd /
	umountvol

	# a junction and a WOF-compressed file, written as raw reparse data
	mountvol "$img.tmp"
	mkdir "$mnt/junction"
	setfattr -h -n system.ntfs_reparse_data -v "0x$(reparse_mountpoint 'C:\Windows' '\??\C:\Windows')" "$mnt/junction"
	printf 'wof placeholder\n' >"$mnt/wof.txt"
	setfattr -h -n system.ntfs_reparse_data -v "0x170000801000000001000000010000000000000000000000" "$mnt/wof.txt"
	printf 'x' >"$mnt/reparse-rel"
	setfattr -h -n system.ntfs_reparse_data -v "0x$(reparse_symlink 'hello.txt' 'hello.txt' 1)" "$mnt/reparse-rel"
	printf 'x' >"$mnt/reparse-abs"
	setfattr -h -n system.ntfs_reparse_data -v "0x$(reparse_symlink 'C:\Temp\x.txt' '\??\C:\Temp\x.txt' 0)" "$mnt/reparse-abs"
	touch -m -d '2024-03-01 12:00:00 UTC' "$mnt/junction" "$mnt/wof.txt" "$mnt/reparse-rel" "$mnt/reparse-abs" 2>/dev/null || true
	umountvol

	mv "$img.tmp" "$img"
}

# reparse_symlink PRINT SUBST FLAGS prints the hex of an IO_REPARSE_TAG_SYMLINK buffer.
reparse_symlink() {
	local p s pl sl body
	p=$(utf16 "$1")
	s=$(utf16 "$2")
	pl=$((${#p} / 2))
	sl=$((${#s} / 2))
	body=$(le16 0)$(le16 "$sl")$(le16 "$sl")$(le16 "$pl")$(le16 "$3")0000${s}${p}
	printf '0c0000a0%s0000%s' "$(le16 $((${#body} / 2)))" "$body"
}

# fragment makes fragmented files. ntfs-3g allocates forward from where it
# last stopped, so interleaved appends stay contiguous; instead fill the
# volume with one-cluster files, delete every other one, and write files
# that can only go into the holes. frag/many.bin gets so many runs that
# its runlist moves to extension records ($ATTRIBUTE_LIST).
fragment() {
	local i n=0 pad
	pad=$(printf '%4096s' '')
	mkdir frag frag/fill
	while printf '%s' "$pad" >"frag/fill/$n" 2>/dev/null; do n=$((n + 1)); done
	rm -f "frag/fill/$n"
	sync
	for ((i = 1; i < n; i += 2)); do rm "frag/fill/$i"; done
	sync
	bytes fraga $((64 * 4096)) >frag/a.bin
	bytes fragb $((64 * 4096)) >frag/b.bin
	bytes fragmany $((900 * 4096)) >frag/many.bin
	sync
	rm -rf frag/fill
}

# utf16 STRING prints the UTF-16LE hex of STRING.
utf16() { printf '%s' "$1" | iconv -f UTF-8 -t UTF-16LE | od -An -v -tx1 | tr -d ' \n'; }
le16() { printf '%02x%02x' $(($1 & 255)) $(($1 >> 8)); }

# reparse_mountpoint PRINT SUBST prints the hex of an IO_REPARSE_TAG_MOUNT_POINT buffer.
reparse_mountpoint() {
	local p s pl sl
	p=$(utf16 "$1")
	s=$(utf16 "$2")
	pl=$((${#p} / 2))
	sl=$((${#s} / 2))
	# substitute name first, then print name, each NUL-terminated
	local body
	body=$(le16 0)$(le16 "$sl")$(le16 $((sl + 2)))$(le16 "$pl")${s}0000${p}0000
	printf '030000a0%s0000%s' "$(le16 $((${#body} / 2)))" "$body"
}

# tiny is a 2 MiB volume with 512-byte clusters: the fuzz seed.
tiny() {
	local img=$out/tiny.img i
	newvol "$img" 2 "Tiny" 512
	mountvol "$img.tmp"
	printf 'hello\n' >"$mnt/hello.txt"
	mkdir "$mnt/dir" "$mnt/z"
	for ((i = 0; i < 40; i++)); do printf '%d\n' "$i" >"$mnt/dir/file-$i"; done
	bytes tiny 3000 >"$mnt/dir/data.bin"
	ln "$mnt/hello.txt" "$mnt/dir/hardlink"
	setfattr -n user.s -v "stream" "$mnt/hello.txt"
	setfattr -h -v 0x00000800 -n system.ntfs_attrib_be "$mnt/z"
	text 100 >"$mnt/z/text.txt"
	truncate -s 100000 "$mnt/sparse"
	ln -s hello.txt "$mnt/link"
	umountvol
	mv "$img.tmp" "$img"
}

big() {
	local img=$out/big.img i
	newvol "$img" 400 "CkptBig"
	mountvol "$img.tmp"
	mkdir "$mnt/huge"
	(cd "$mnt/huge" && for ((i = 0; i < 100000; i++)); do : >"f$i"; done)
	bytes bigfile $((256 * 1024 * 1024)) >"$mnt/large.bin"
	umountvol
	mv "$img.tmp" "$img"
}

case $what in
small) small ;;
tiny) tiny ;;
big) big ;;
all) small; tiny; big ;;
*) echo "usage: $0 [OUTDIR] [small|tiny|big|all]" >&2; exit 2 ;;
esac
