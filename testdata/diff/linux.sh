#!/usr/bin/env bash
# linux.sh OUT FS builds states of one ext4 or XFS volume (FS: ext4, xfs),
# changed by the kernel through a loop mount (run as root), for the tests
# that compare diff's inode comparison with its full walk and with the
# kernel. gen.sh runs it when given "linux FS".
#
#   OUT/linux-FS/stateN.img   the bare volume in state N (sparse)
#   OUT/linux-FS/stateN.list  the kernel's view of state N (read-only mount
#       of a copy; the dirty state's journal or log replayed by that
#       mount): "path<TAB>type<TAB>mode<TAB>size<TAB>mtime<TAB>sha256
#       <TAB>link target" per entry (type d, f, l or o; mode octal; size
#       "-" for a directory; mtime in nanoseconds; sha256 "-" for all but
#       regular files)
#
#   state0  the base: directories d1..d6, files, hard links, a symlink,
#           xattrs, a directory "big" of 3000 files
#   state1  create, delete, rename across directories (a file and a
#           directory with children), hard link added and removed, edit
#           in place, append, truncate, chmod, chown, xattr changed,
#           symlink retargeted, 20 entries of big changed, a slot freed
#           and reused, a tree removed, an mtime set back
#   state2  one file rewritten in place (the common case)
#   state3  a copy taken while mounted after sync: the journal (log)
#           needs recovery
#   state4  after a clean unmount and more changes: big removed
set -euo pipefail
out=$1/linux-$2
fs=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
work=$(mktemp -d)
mnt=$work/mnt
ro=$work/ro
mkdir -p "$mnt" "$ro"
img=$work/vol.img
dev=
cleanup() {
	cd /
	for m in "$ro" "$mnt"; do
		if mountpoint -q "$m"; then umount "$m" || true; fi
	done
	if [ -n "$dev" ]; then losetup -d "$dev" || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# bytes SEED COUNT prints COUNT deterministic pseudo-random bytes.
bytes() {
	(set +o pipefail; openssl enc -aes-128-ctr -nosalt -pass "pass:$1" -pbkdf2 -iter 1 </dev/zero 2>/dev/null | head -c "$2")
}

case $fs in
ext4)
	truncate -s 64M "$img"
	mkfs.ext4 -q -F -b 4096 -N 16384 -E lazy_itable_init=0,lazy_journal_init=0 -U 6a1c1d2e-3f40-4b5c-8d6e-7f8091a2b3c4 -L difftest "$img"
	opts=(-o nodelalloc)
	;;
xfs)
	truncate -s 320M "$img"
	mkfs.xfs -q -f -m uuid=7b2d2e3f-4051-4c6d-9e7f-8091a2b3c4d5 -L difftest "$img"
	opts=(-o nouuid)
	;;
*)
	echo "linux.sh: unknown filesystem $fs" >&2
	exit 2
	;;
esac
dev=$(losetup -f --show "$img")
mount "${opts[@]}" "$dev" "$mnt"

# list prints the kernel's view of the tree mounted at $ro (python3: one
# process, not one per file).
list() {
	python3 - "$ro" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]
rows = []
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        p = os.path.join(d, n)
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        y = {stat.S_IFDIR: "d", stat.S_IFREG: "f", stat.S_IFLNK: "l"}.get(stat.S_IFMT(st.st_mode), "o")
        h, size, target = "-", str(st.st_size), ""
        if y == "f":
            with open(p, "rb") as f:
                h = hashlib.sha256(f.read()).hexdigest()
        if y == "d":
            size = "-"
        if y == "l":
            target = os.readlink(p)
        rows.append("\t".join([rel, y, "%o" % stat.S_IMODE(st.st_mode), size, str(st.st_mtime_ns), h, target]))
for r in sorted(rows, key=lambda r: r.split("\t")[0].encode()):
    print(r)
PY
}

# keep N copies the volume into stateN.img (as it is: mounted or not) and
# lists what the kernel reads in that copy.
keep() {
	cp --sparse=always "$img" "$out/state$1.img"
	cp --sparse=always "$img" "$work/copy.img"
	local d
	d=$(losetup -f --show "$work/copy.img")
	mount -o nouuid "$d" "$ro" 2>/dev/null || mount "$d" "$ro"
	list >"$out/state$1.list"
	umount "$ro"
	losetup -d "$d"
	rm -f "$work/copy.img"
}
clean() { sync; umount "$mnt"; }
again() { mount "${opts[@]}" "$dev" "$mnt"; }

cd "$mnt"
mkdir -p d1 d2 d3 d4 d5/sub/deeper d6/x/y big
for i in 1 2 3 4 5 6; do echo "file $i" >"d1/f$i.txt"; done
echo "to move" >d1/moveme.txt
echo "gone" >d2/gone.txt
bytes edit 65536 >d1/edit.bin
echo "append" >d2/append.txt
bytes trunc 20000 >d2/trunc.bin
echo "mode" >d1/mode.txt
echo "owner" >d1/owner.txt
echo "xattr" >d1/xattr.txt
setfattr -n user.note -v one d1/xattr.txt
ln -s f1.txt d1/sym
echo "linked" >d3/link1
ln d3/link1 d3/link2
echo "hardlinked" >d1/file1
echo "slot" >d4/slot.txt
echo "keep" >d4/keep.txt
echo "sub" >d5/sub/a.txt
echo "deeper" >d5/sub/deeper/b.txt
echo "tree" >d6/x/y/c.txt
echo "touched" >d1/touched.txt
for i in $(seq -w 0 2999); do echo "$i" >"big/f$i"; done
cd /
clean
keep 0
again

cd "$mnt"
echo "new" >d1/new.txt
rm d2/gone.txt
mv d1/moveme.txt d2/moved.txt
ln d1/file1 d3/hardlink
rm d3/link2
bytes edited 4096 | dd of=d1/edit.bin bs=4096 seek=2 conv=notrunc status=none
echo "more" >>d2/append.txt
truncate -s 100 d2/trunc.bin
chmod 600 d1/mode.txt
chown 1000:1000 d1/owner.txt
setfattr -n user.note -v two d1/xattr.txt
ln -sfn f2.txt d1/sym
for i in $(seq 100 109); do rm "big/f0$i"; echo "n$i" >"big/n$i"; done
rm d4/slot.txt
echo "reuse" >d4/reuse.txt
mv d5/sub d1/sub
rm -r d6
touch -d '2020-01-02 03:04:05' d1/touched.txt
cd /
clean
keep 1
again

bytes again 4096 | dd of="$mnt/d1/edit.bin" bs=4096 seek=5 conv=notrunc status=none
clean
keep 2
again

echo "dirty" >"$mnt/d2/dirty.txt"
bytes dirty 4096 | dd of="$mnt/d1/f3.txt" conv=notrunc status=none
mv "$mnt/d1/f4.txt" "$mnt/d3/f4.txt"
sync
keep 3

rm -r "$mnt/big"
ln -s ../d1 "$mnt/d2/up"
clean
keep 4
