#!/bin/bash
# populate.sh DIR [small]: fills DIR with the tree the XFS tests compare:
# every directory form, sparse and preallocated files, a file with enough
# extents for a B+tree fork, hard and symbolic links, devices, owners,
# modes, times with nanoseconds (before 1970 and after 2038), and extended
# attributes in every attribute fork form. Deterministic content; with
# "small", the big directories are left out (for the v4 protofile image).
set -eu
d=$1
small=${2:-}
export LC_ALL=C TZ=UTC
cd "$d"

# Directories: short form, block, leaf, node.
mkdir sf block leaf node
for i in 1 2 3; do echo "sf $i" >sf/f$i; done
for i in $(seq 1 30); do echo "block $i" >block/file-with-a-longer-name-$i; done
for i in $(seq 1 400); do : >leaf/leaf-entry-name-number-$i; done
if [ -z "$small" ]; then
	for i in $(seq 1 4000); do : >node/node-directory-entry-with-a-long-name-$i; done
	# A directory whose blocks interleave with file data: many extents,
	# so its data fork becomes a B+tree.
	mkdir btree
	for i in $(seq 1 1500); do
		printf '%0200d' "$i" >"btree/$(printf 'n%0250d' "$i")"
	done
	# Files deleted from a large directory leave free space and stale
	# leaf entries behind.
	mkdir holes
	for i in $(seq 1 1000); do : >holes/entry-$i; done
	for i in $(seq 1 2 1000); do rm holes/entry-$i; done
fi

# Regular files.
: >empty
printf 'hello, xfs\n' >hello.txt
seq 1 300000 >numbers.txt                   # ~2 MB
head -c 5000 numbers.txt >odd-size
# Sparse: data islands in a 1 GiB file; a preallocated (unwritten) range;
# a punched hole.
# (mkfs.xfs protofiles copy holes as data, so the small tree keeps it small.)
sparse_blocks=262144
[ -n "$small" ] && sparse_blocks=16384
truncate -s $((sparse_blocks * 4096)) sparse
dd if=numbers.txt of=sparse bs=4096 seek=1000 count=3 conv=notrunc status=none
dd if=numbers.txt of=sparse bs=4096 seek=$((sparse_blocks * 3 / 4)) count=1 conv=notrunc status=none
fallocate -l 1M prealloc
fallocate -o 0 -l 2M prealloc-written && dd if=numbers.txt of=prealloc-written bs=4096 seek=10 count=2 conv=notrunc status=none
cp numbers.txt punched && fallocate -p -o 65536 -l 131072 punched
printf x >beyond-eof && fallocate -n -o 4096 -l 65536 beyond-eof
# Many extents: every other block written, so the data fork is a B+tree.
args=()
for i in $(seq 0 1199); do args+=(-c "pwrite -q -S $((i % 250 + 1)) $((i * 8192)) 4096"); done
xfs_io -f "${args[@]}" manyext

# Reflinked copies share their blocks (v5 volumes have reflink on).
if [ -z "$small" ]; then
	cp --reflink=always numbers.txt reflinked
	cp --reflink=always manyext manyext-reflinked
	printf 'changed' | dd of=reflinked bs=1 seek=5000 conv=notrunc status=none
fi

# Links.
ln hello.txt hardlink
ln numbers.txt sf/numbers-link
ln -s hello.txt symlink
ln -s sf/../block symlink-dir
ln -s /nonexistent/target dangling
ln -s "$(printf 'long/%.0s' $(seq 1 150))end" longlink        # 753 bytes: remote
ln -s "$(printf 'x%.0s' $(seq 1 1020))" maxlink                # 1020 bytes

# Special files, owners, modes.
mkfifo fifo
mknod chardev c 1 3
mknod blockdev b 7 42
echo setuid >setuid && chmod 4755 setuid
mkdir sticky && chmod 1777 sticky
echo owned >owned && chown 1000:1001 owned && chmod 640 owned
chown 4000000000:65534 empty

# Extended attributes: short form, leaf, node, remote values, namespaces
# (not in the protofile image: protofiles carry none).
if [ -z "$small" ]; then
	echo attrs >xattr-sf
	setfattr -n user.colour -v blue xattr-sf
	setfattr -n trusted.secret -v 0x00ff00 xattr-sf
	setfattr -n security.label -v system_u:object_r:etc_t:s0 xattr-sf
	echo attrs >xattr-leaf
	for i in $(seq 1 40); do setfattr -n "user.attribute-number-$i" -v "value $i of a leaf" xattr-leaf; done
	echo attrs >xattr-node
	for i in $(seq 1 600); do setfattr -n "user.a-longer-attribute-name-$i" -v "value number $i" xattr-node; done
	echo attrs >xattr-remote
	setfattr -n user.big -v "0x$(head -c 20000 numbers.txt | od -An -v -tx1 | tr -d ' \n')" xattr-remote
	setfattr -n user.small -v tiny xattr-remote
	# A POSIX ACL (user::rw-, user:1000:r--, group::r--, mask::r--, other::r--),
	# in the kernel's xattr form; XFS keeps it as trusted.SGI_ACL_FILE.
	echo acl >acl-file
	setfattr -n system.posix_acl_access -v 0x0200000001000600ffffffff02000400e803000004000400ffffffff10000400ffffffff20000400ffffffff acl-file
	mkdir acl-dir
	setfattr -n system.posix_acl_default -v 0x0200000001000700ffffffff04000500ffffffff20000500ffffffff acl-dir
fi

# Times, set last: nanoseconds, before 1970, after 2038.
touch -d '2001-02-03 04:05:06.123456789' hello.txt numbers.txt
touch -m -d '1950-06-07 08:09:10.5' odd-size
touch -a -d '2100-01-02 03:04:05.000000001' odd-size
touch -h -d '2030-01-01 00:00:00.25' symlink
