#!/bin/bash
# populate.sh DIR: fills DIR with the tree the ext tests compare with the
# kernel: linear and hashed directories, sizes at the edges of inline
# data and blocks, sparse, preallocated and punched files (where the
# filesystem can make them), hard and symbolic links (fast, slow, long),
# devices with old and new numbers, owners, modes, times with nanoseconds
# (before 1970 and after 2038), and extended attributes in the inode and
# in a block, POSIX ACLs included. Deterministic content.
set -eu
d=$1
export LC_ALL=C TZ=UTC
cd "$d"

# Directories: one block, hashed (several blocks), emptied half way.
mkdir small hashed holes
for i in 1 2 3; do echo "small $i" >small/f$i; done
for i in $(seq 1 3000); do : >hashed/entry-with-a-longer-name-number-$i; done
# Names with bytes above 0x7f hash differently with signed chars.
for i in $(seq 1 200); do : >"hashed/café-naïve-$i-€"; done
for i in $(seq 1 600); do : >holes/entry-$i; done
for i in $(seq 1 2 600); do rm holes/entry-$i; done
mkdir -p deep/a/b/c/d/e/f && echo deep >deep/a/b/c/d/e/f/leaf

# Regular files.
: >empty
printf 'hello, ext\n' >hello.txt
seq 1 300000 >numbers.txt # ~2 MB: indirect and double indirect blocks with 1 KiB blocks
for n in 1 59 60 61 150 1023 1024 1025 4095 4096 4097 65537; do head -c $n numbers.txt >size-$n; done
truncate -s 64M sparse
dd if=numbers.txt of=sparse bs=4096 seek=1000 count=3 conv=notrunc status=none
dd if=numbers.txt of=sparse bs=4096 seek=12000 count=1 conv=notrunc status=none
# Unwritten extents (ext4 only: ext2/3 cannot preallocate).
if fallocate -l 1M prealloc 2>/dev/null; then
	fallocate -o 0 -l 2M prealloc-written && dd if=numbers.txt of=prealloc-written bs=4096 seek=10 count=2 conv=notrunc status=none
	cp numbers.txt punched && fallocate -p -o 65536 -l 131072 punched
	printf x >beyond-eof && fallocate -n -o 4096 -l 65536 beyond-eof
fi

# Links.
ln hello.txt hardlink
ln numbers.txt small/numbers-link
ln -s hello.txt symlink
ln -s small/../hashed symlink-dir
# Dangling ones apart, in links/, where fstest does not open them.
mkdir links
ln -s /nonexistent/target links/dangling
ln -s "$(printf 'x%.0s' $(seq 1 59))" links/link59 # the longest fast link
ln -s "$(printf 'x%.0s' $(seq 1 60))" links/link60 # the shortest slow one
ln -s "$(printf 'long/%.0s' $(seq 1 150))end" links/longlink # 753 bytes

# Special files, owners, modes.
mkfifo fifo
mknod chardev c 1 3
mknod blockdev b 7 42
mknod bigdev c 300 70000 # needs the new device number form
echo setuid >setuid && chmod 4755 setuid
mkdir sticky && chmod 1777 sticky
echo owned >owned && chown 1000:1001 owned && chmod 640 owned
chown 4000000000:65534 empty

# Extended attributes: small ones fit in the inode, a large one needs a
# block; ACLs in ext's own form.
setfattr -n user.small -v hello hello.txt
setfattr -n trusted.t -v 0x00ff00 hello.txt
setfattr -n user.big -v "$(printf 'v%.0s' $(seq 1 700))" numbers.txt
setfattr -n user.dir -v d small
# (set as raw xattrs, so no acl tools are needed: u::rw-, u:1000:r-x,
# g::r--, g:1001:r--, m::r-x, o::---)
acl=0x02000000
acl+=01000600ffffffff02000500e803000004000400ffffffff08000400e9030000
acl+=10000500ffffffff20000000ffffffff
setfattr -n system.posix_acl_access -v $acl owned
setfattr -n system.posix_acl_default -v $acl small

# Times: nanoseconds, before 1970, after 2038 (extra epoch bits).
touch -h -d '1960-05-06 07:08:09.123456789' small/f1
touch -h -d '2100-01-02 03:04:05.987654321' small/f2
touch -h -d '2030-06-30 12:00:00.5' symlink
touch -a -d '2001-02-03 04:05:06.000000007' hello.txt
touch -m -d '2011-12-13 14:15:16.171819202' hello.txt
