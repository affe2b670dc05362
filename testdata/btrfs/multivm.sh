#!/bin/bash
# multivm.sh OUT: a Fedora-like VM whose btrfs root was grown onto a second
# virtual disk with `btrfs device add`, at three states kept as Hyper-V
# keeps checkpoints (run as root: loop devices and mounts; MKCHAIN names
# tools/mkchain built).
#   disk a  GPT, partition 1 (1 MiB, 190 MiB) is btrfs device 1
#   disk b  160 MiB, all of it btrfs device 2 (added, then metadata
#           balanced to RAID1; later data lands on it)
#   the filesystem: subvolumes root (the guest's /, its /etc/fstab and
#           os-release) and home, default subvolume 5 (Fedora's layout),
#           files on both devices, zstd-compressed ones
#   state 0 installed; state 1 ("updated"): a file rewritten, one removed,
#           two added (one of 12 MiB); state 2 (the live state, "Now"):
#           a log appended to
#   OUT/vm/  multi-a.vhdx, multi-b.vhdx and two .avhdx each
#           (tools/mkchain), Virtual Machines/<id>.xml, Snapshots/<id>.xml
#           of "installed" and "updated"
#   OUT/stateN.list  the kernel's read-only view of state N (find -printf
#           '%P %y %m %U %G %s %n %i %T@ %C@ %A@' with tabs, then the
#           sha256 of a regular file, "-" for others)
#   OUT/stateN-without-b.list  state N mounted ro,degraded with disk b
#           left out ("EIO" for what the kernel could not read)
# The fsid (f3b1c2d4-0008-...) is this script's own. File bytes and times
# are fixed; what the kernel lays out may differ between runs.
# Tools: mkfs.btrfs, btrfs, losetup, mount, sgdisk, openssl, iconv.
set -euo pipefail
# Fixed fsids: two checkouts building at once take turns machine-wide, as
# logged.sh does (the kernel refuses a second device of a mounted fsid).
exec 9>/tmp/ckptfs-btrfs-fixed-fsid.lock
flock 9
out=$1
mkchain=${MKCHAIN:?MKCHAIN names tools/mkchain built}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
mnt=$work/mnt
mkdir -p "$mnt"
loops=()
detach() {
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	loops=()
	btrfs device scan --forget 2>/dev/null || true # see multidev.sh
}
cleanup() {
	for _ in 1 2 3 4 5; do
		mountpoint -q "$mnt" || break
		umount "$mnt" 2>/dev/null || sleep 1
	done
	if mountpoint -q "$mnt"; then umount -l "$mnt" || true; fi
	detach
	rm -rf "$work"
}
trap cleanup EXIT
export TZ=UTC LC_ALL=C
fsid=f3b1c2d4-0008-4000-8000-000000000008
T='2026-11-02 10:11:12.5'

rnd() { { openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$2")" -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null || true; } | head -c "$1"; }
attach() { # STATE [ro] [a-only]
	local ro=
	[ "${2:-}" = ro ] && ro=--read-only
	loops+=("$(losetup --find --show $ro "$work/s$1/pa")")
	[ "${3:-}" = a-only ] || loops+=("$(losetup --find --show $ro "$work/s$1/b.img")")
}
devopts() { local o= l; for l in "${loops[@]}"; do o+=,device=$l; done; echo "${o#,}"; }
list() { # LISTNAME
	(cd "$mnt" && find . -mindepth 1 -printf '%P\t%y\t%m\t%U\t%G\t%s\t%n\t%i\t%T@\t%C@\t%A@\n' | sort) |
		while IFS= read -r line; do
			p=${line%%	*}
			sum=-
			if [ -f "$mnt/$p" ] && [ ! -L "$mnt/$p" ]; then
				sum=$(sha256sum <"$mnt/$p" 2>/dev/null | cut -d' ' -f1) || sum=EIO
				[ -n "$sum" ] || sum=EIO
			fi
			printf '%s\t%s\n' "$line" "$sum"
		done >"$out/$1.list"
}
oracle() { # STATE
	attach "$1" ro
	mount -t btrfs -o "ro,$(devopts)" "${loops[0]}" "$mnt"
	list "state$1"
	umount "$mnt"
	detach
	attach "$1" ro a-only
	mount -t btrfs -o "ro,degraded,$(devopts)" "${loops[0]}" "$mnt"
	list "state$1-without-b"
	umount "$mnt"
	detach
}

# State 0: installed on disk a, grown onto disk b.
btrfs device scan --forget 2>/dev/null || true
mkdir -p "$work/s0"
truncate -s 190M "$work/s0/pa"
truncate -s 160M "$work/s0/b.img"
attach 0 rw a-only
mkfs.btrfs -q -f -K -U $fsid -L fedora -d single -m dup "${loops[0]}" >/dev/null
mount -t btrfs -o compress=zstd:1 "${loops[0]}" "$mnt"
btrfs subvolume create "$mnt/root" >/dev/null
btrfs subvolume create "$mnt/home" >/dev/null
r=$mnt/root
mkdir -p "$r/etc" "$r/usr/lib" "$r/var/log" "$mnt/home/admin"
printf 'NAME="Fedora Linux"\nVERSION_ID=41\nID=fedora\nPRETTY_NAME="Fedora Linux 41"\n' >"$r/usr/lib/os-release"
ln -s ../usr/lib/os-release "$r/etc/os-release"
printf 'UUID=%s / btrfs subvol=root,compress=zstd:1 0 0\nUUID=%s /home btrfs subvol=home,compress=zstd:1 0 0\n' $fsid $fsid >"$r/etc/fstab"
printf 'multi\n' >"$r/etc/hostname"
for i in $(seq 1 30); do printf 'note %d\n' "$i" >"$mnt/home/admin/note$i.txt"; done
rnd $((6 << 20)) 1 >"$r/usr/lib/libbig.so"
seq 1 200000 >"$r/var/log/messages"
touch -h -d "$T" "$r/etc/os-release" "$r/usr/lib/os-release" "$r/etc/fstab" "$r/usr/lib/libbig.so"
sync
loops+=("$(losetup --find --show "$work/s0/b.img")")
btrfs device add -K -f "${loops[1]}" "$mnt"
btrfs balance start -f -mconvert=raid1 -sconvert=raid1 "$mnt" >/dev/null
mkdir -p "$mnt/home/admin/media"
rnd $((20 << 20 | 333)) 2 >"$mnt/home/admin/media/video.bin"
rnd 70000 3 >"$r/usr/lib/libsmall.so"
umount "$mnt"
detach

# State 1: updated through the kernel.
mkdir -p "$work/s1"
cp --sparse=always "$work/s0/pa" "$work/s0/b.img" "$work/s1/"
attach 1
mount -t btrfs -o "compress=zstd:1,$(devopts)" "${loops[0]}" "$mnt"
printf 'multi-updated\n' >"$mnt/root/etc/hostname"
rm "$mnt/home/admin/note3.txt"
printf 'grow /home again\n' >"$mnt/home/admin/todo.txt"
rnd $((12 << 20)) 4 >"$mnt/root/usr/lib/libnew.so"
touch -d '2026-12-01 08:00:00' "$mnt/root/etc/hostname" "$mnt/home/admin/todo.txt" "$mnt/root/usr/lib/libnew.so"
umount "$mnt"
detach

# State 2: the live state, a log appended to.
mkdir -p "$work/s2"
cp --sparse=always "$work/s1/pa" "$work/s1/b.img" "$work/s2/"
attach 2
mount -t btrfs -o "$(devopts)" "${loops[0]}" "$mnt"
seq 200001 230000 >>"$mnt/root/var/log/messages"
touch -d '2026-12-05 09:00:00' "$mnt/root/var/log/messages"
umount "$mnt"
detach

for s in 0 1 2; do
	oracle $s
	truncate -s 192M "$work/s$s/a.img"
	sgdisk -o -U f3b1c2d4-0008-4000-8000-00000000d15a \
		-n 1:2048:+190M -t 1:8300 -u 1:f3b1c2d4-0008-4000-8000-000000000001 "$work/s$s/a.img" >/dev/null
	dd if="$work/s$s/pa" of="$work/s$s/a.img" bs=1M seek=1 conv=notrunc,sparse status=none
done

vm=$out/vm
rm -rf "$vm"
mkdir -p "$vm/Virtual Machines" "$vm/Snapshots"
mapfile -t fa < <("$mkchain" -o "$vm" -name multi-a -seed multi-a "$work"/s{0,1,2}/a.img)
mapfile -t fb < <("$mkchain" -o "$vm" -name multi-b -seed multi-b "$work"/s{0,1,2}/b.img)
id=F3B1C2D4-0008-4000-8000-00000000A11D
s1=F3B1C2D4-0008-4000-8000-0000000005A1
s2=F3B1C2D4-0008-4000-8000-0000000005A2
config() { # GLOBAL_ID NAME PARENT FILE_A FILE_B
	drive() { printf '<drive%d><pathname type="string">C:\\Hyper-V\\multi\\%s</pathname><type type="string">VHD</type></drive%d>' "$1" "$2" "$1"; }
	printf '\xff\xfe'
	{
		printf '<?xml version="1.0" encoding="UTF-16" standalone="yes"?>\n<configuration>\n'
		printf '<_83f8638b-8dca-4152-9eda-2ca8b33039b4_><controller0>%s%s</controller0></_83f8638b-8dca-4152-9eda-2ca8b33039b4_>\n' \
			"$(drive 0 "$(basename "$4")")" "$(drive 1 "$(basename "$5")")"
		printf '<properties><global_id type="string">%s</global_id><name type="string">%s</name>' "$1" "$2"
		if [ -n "$3" ]; then printf '<parent_snapshot_id type="string">%s</parent_snapshot_id>' "$3"; fi
		printf '</properties>\n<settings><global><logical_id type="string">%s</logical_id></global></settings>\n</configuration>\n' $id
	} | iconv -f UTF-8 -t UTF-16LE
}
config $s1 installed "" "${fa[0]}" "${fb[0]}" >"$vm/Snapshots/$s1.xml"
config $s2 updated $s1 "${fa[1]}" "${fb[1]}" >"$vm/Snapshots/$s2.xml"
config $id multi $s2 "${fa[2]}" "${fb[2]}" >"$vm/Virtual Machines/$id.xml"
