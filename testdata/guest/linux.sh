#!/bin/bash
# linux.sh OUT: two disks laid out as Linux installers leave them, each
# with the /etc/fstab its installer writes (run as root: the filesystems
# are filled through loop mounts).
#   OUT/rhel.img    GPT, as Anaconda installs RHEL 9 with LVM on UEFI:
#                   p1 EFI system partition (FAT16) at /boot/efi,
#                   p2 /boot (ext4), p3 an LVM physical volume of group
#                   "rhel": root (XFS), home (XFS), swap; p4 LUKS2
#                   (passphrase "rhel secret") around ext4 at /srv/secret,
#                   named in /etc/crypttab as Anaconda names it
#   OUT/rhel-p4-inner.txt  blkid -p -o export of p4's ext4 before encryption
#   OUT/rhel-lvs.txt  the group's volumes as lvs lists them ("rhel root")
#   OUT/fedora.img  MBR (disk signature 0x5eed0f39), as Fedora installs on
#                   BIOS: p1 /boot (ext4), p2 btrfs with the subvolumes
#                   root (/), home (/home) and log (/var/log, mounted by
#                   subvolid), p3 swap, p4 ext4 data an admin added as
#                   /dev/sda4 at /srv/data
#   OUT/suse.img    GPT, as openSUSE installs: one btrfs partition whose
#                   default subvolume is @/.snapshots/1/snapshot (mounted
#                   at / with no subvol option), @/home and @/srv named by
#                   subvol=
# UUIDs, labels, partition GUIDs and names are fixed; file contents too
# (XFS and btrfs stamp their own creation times, so the bytes vary).
# The LVM metadata is written with vgcfgrestore (no device-mapper needed)
# and each filesystem copied to where its extents are.
# Tools: sgdisk (gdisk), sfdisk (fdisk), mkfs.fat + mcopy (dosfstools,
# mtools), mkfs.ext4 (e2fsprogs), mkfs.xfs (xfsprogs), mkfs.btrfs + btrfs
# (btrfs-progs), mkswap + blkid (util-linux), pvcreate + vgcfgrestore +
# lvs (lvm2), cryptsetup (2.4+), losetup, mount.
set -euo pipefail
# The btrfs images here have fixed fsids, and the kernel refuses a second
# device of one fsid while the first is mounted ("non-unique UUID"): two
# checkouts building at once (worktrees, parallel CI jobs on one machine)
# take turns, machine-wide.
exec 9>/tmp/ckptfs-btrfs-fixed-fsid.lock
flock 9
out=$1
mkdir -p "$out"
work=$(mktemp -d)
mnt=$work/mnt
mkdir -p "$mnt"
loop=
cleanup() {
	umount "$mnt" 2>/dev/null || true
	if [ -n "$loop" ]; then losetup -d "$loop" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
export TZ=UTC LC_ALL=C E2FSPROGS_FAKE_TIME=1614834368 MTOOLS_SKIP_CHECK=1
export LVM_SUPPRESS_FD_WARNINGS=1

place() { dd if="$2" of="$1" bs=512 seek="$3" conv=notrunc,sparse status=none; }
# fill IMG: mount a filesystem image and run the rest of the arguments
# in it; fill IMG -o OPTS ... passes mount options.
fill() {
	local img=$1 opts=
	shift
	if [ "$1" = -o ]; then opts=,$2; shift 2; fi
	mount -o "loop$opts" "$img" "$mnt"
	(cd "$mnt" && "$@")
	umount "$mnt"
}
osrelease() { # NAME VERSION_ID PRETTY
	printf 'NAME="%s"\nVERSION_ID="%s"\nPRETTY_NAME="%s"\nID=%s\n' "$1" "$2" "$3" "$4"
}

# ---- RHEL 9 ---------------------------------------------------------------
efi_id=7A3E12C4
boot_uuid=3f1d9c2a-5b7e-4e0a-9c6d-1a2b3c4d5e01
root_uuid=3f1d9c2a-5b7e-4e0a-9c6d-1a2b3c4d5e02
home_uuid=3f1d9c2a-5b7e-4e0a-9c6d-1a2b3c4d5e03
swap_uuid=3f1d9c2a-5b7e-4e0a-9c6d-1a2b3c4d5e04
secret_uuid=3f1d9c2a-5b7e-4e0a-9c6d-1a2b3c4d5e05
luks_uuid=2c0ffee0-1111-4222-8333-444455556666

rhel=$out/rhel.img
rm -f "$rhel"
truncate -s 808M "$rhel"
# 2048: EFI 16 MiB, 34816: /boot 48 MiB, 133120: the PV (700 MiB),
# 1566720: LUKS (40 MiB).
sgdisk -o -U 5a1b2c3d-0000-4000-8000-00000000d15c \
	-n 1:2048:+16M -t 1:EF00 -c 1:"EFI System Partition" -u 1:5a1b2c3d-0000-4000-8000-000000000001 \
	-n 2:0:+48M -t 2:8300 -u 2:5a1b2c3d-0000-4000-8000-000000000002 \
	-n 3:0:+700M -t 3:8E00 -u 3:5a1b2c3d-0000-4000-8000-000000000003 \
	-n 4:0:+40M -t 4:8309 -u 4:5a1b2c3d-0000-4000-8000-000000000004 \
	"$rhel" >/dev/null

rm -f "$work/efi"
mkfs.fat -C -F 16 -s 1 -i $efi_id "$work/efi" 16384 >/dev/null
mkdir -p "$work/efitree/EFI/redhat"
printf 'shim\n' >"$work/efitree/EFI/redhat/shimx64.efi"
mcopy -s -i "$work/efi" "$work/efitree/EFI" ::
place "$rhel" "$work/efi" 2048

mkdir -p "$work/boot/grub2" "$work/boot/efi"
printf 'set default=0\n' >"$work/boot/grub2/grub.cfg"
printf 'vmlinuz\n' >"$work/boot/vmlinuz-5.14.0-362.8.1.el9_3.x86_64"
mkfs.ext4 -q -F -U $boot_uuid -E root_owner=0:0 -d "$work/boot" "$work/bootfs" 48M >/dev/null
place "$rhel" "$work/bootfs" 34816

# The volume group: 4 MiB extents from 1 MiB into the PV; root extents
# 0-79, home 80-159, swap 160-163.
pv=$work/pv
rm -f "$pv"
truncate -s 700M "$pv"
loop=$(losetup -f --show "$pv")
pvuuid=Rh3lPv-0000-1111-2222-3333-4444-555566
lvmcfg='devices { use_devicesfile=0 } backup { backup=0 archive=0 }'
pvcreate -q -ff -y --config "$lvmcfg" --devices "$loop" --uuid $pvuuid --norestorefile "$loop" >/dev/null
lv() { # NAME ID FIRST COUNT
	printf '\t\t%s {\n\t\t\tid = "%s"\n\t\t\tstatus = ["READ", "WRITE", "VISIBLE"]\n\t\t\tflags = []\n' "$1" "$2"
	printf '\t\t\tsegment_count = 1\n\t\t\tsegment1 {\n\t\t\t\tstart_extent = 0\n\t\t\t\textent_count = %d\n' "$4"
	printf '\t\t\t\ttype = "striped"\n\t\t\t\tstripe_count = 1\n\t\t\t\tstripes = [ "pv0", %d ]\n\t\t\t}\n\t\t}\n' "$3"
}
{
	cat <<VG
contents = "Text Format Volume Group"
version = 1
rhel {
	id = "Rh3lVg-0000-1111-2222-3333-4444-555566"
	seqno = 1
	format = "lvm2"
	status = ["RESIZEABLE", "READ", "WRITE"]
	flags = []
	extent_size = 8192
	max_lv = 0
	max_pv = 0
	metadata_copies = 0
	physical_volumes {
		pv0 {
			id = "$pvuuid"
			device = "$loop"
			status = ["ALLOCATABLE"]
			flags = []
			dev_size = 1433600
			pe_start = 2048
			pe_count = 174
		}
	}
	logical_volumes {
VG
	lv root Rh3lLv-0000-1111-2222-3333-4444-000001 0 80
	lv home Rh3lLv-0000-1111-2222-3333-4444-000002 80 80
	lv swap Rh3lLv-0000-1111-2222-3333-4444-000003 160 4
	printf '\t}\n}\n'
} >"$work/vg.txt"
# vgcfgrestore warns that it cannot reach device-mapper; the metadata is
# written all the same.
vgcfgrestore -q --config "$lvmcfg" --devices "$loop" -f "$work/vg.txt" rhel >/dev/null 2>&1
# What LVM itself says the volumes are, for the tests to compare with.
lvs -q --config "$lvmcfg" --devices "$loop" --noheadings -o vg_name,lv_name rhel 2>/dev/null >"$out/rhel-lvs.txt"
losetup -d "$loop"
loop=
lvplace() { dd if="$1" of="$pv" bs=1M seek=$((1 + 4 * $2)) conv=notrunc,sparse status=none; }

t=$work/roottree
mkdir -p $t/etc $t/boot $t/home $t/var/www/html $t/root $t/srv/secret
printf 'luks-%s UUID=%s none discard\n' $luks_uuid $luks_uuid >$t/etc/crypttab
osrelease 'Red Hat Enterprise Linux' 9.3 'Red Hat Enterprise Linux 9.3 (Plow)' rhel >$t/etc/os-release
echo rhel9-web >$t/etc/hostname
printf '<h1>rhel web</h1>\n' >$t/var/www/html/index.html
cat >$t/etc/fstab <<FSTAB

#
# /etc/fstab
# Created by anaconda on Mon Dec  4 09:12:01 2023
#
# Accessible filesystems, by reference, are maintained under '/dev/disk/'.
# See man pages fstab(5), findfs(8), mount(8) and/or blkid(8) for more info.
#
# After editing this file, run 'systemctl daemon-reload' to update systemd
# units generated from this file.
#
/dev/mapper/rhel-root   /                       xfs     defaults        0 0
UUID=$boot_uuid /boot                   ext4    defaults        1 2
UUID=7A3E-12C4          /boot/efi               vfat    umask=0077,shortname=winnt 0 2
/dev/mapper/rhel-home   /home                   xfs     defaults        0 0
/dev/mapper/rhel-swap   none                    swap    defaults        0 0
/dev/mapper/luks-$luks_uuid /srv/secret           ext4    defaults        1 2
FSTAB
rm -f "$work/root"
truncate -s 320M "$work/root"
mkfs.xfs -q -m uuid=$root_uuid "$work/root"
fill "$work/root" cp -a "$t/." .
lvplace "$work/root" 0

rm -f "$work/home"
truncate -s 320M "$work/home"
mkfs.xfs -q -m uuid=$home_uuid -L home "$work/home"
mkdir -p "$work/hometree/alice/docs"
printf 'alice notes\n' >"$work/hometree/alice/docs/notes.txt"
fill "$work/home" cp -a "$work/hometree/." .
lvplace "$work/home" 80

rm -f "$work/swap"
truncate -s 16M "$work/swap"
mkswap -q -U $swap_uuid "$work/swap" >/dev/null
lvplace "$work/swap" 160
place "$rhel" "$pv" 133120

# LUKS2 encrypted in place by cryptsetup (offline: no device-mapper),
# the ext4's bytes moved behind a 16 MiB header; cheap key derivation.
mkdir -p "$work/secret/plans"
printf 'the plan\n' >"$work/secret/plans/plan.txt"
mkfs.ext4 -q -F -L secret -U $secret_uuid -E root_owner=0:0 -d "$work/secret" "$work/secretfs" 16M >/dev/null
blkid -p -o export "$work/secretfs" | grep -v '^DEVNAME=' >"$out/rhel-p4-inner.txt"
truncate -s 40M "$work/secretfs"
printf 'rhel secret' >"$work/secret.key"
cryptsetup reencrypt --encrypt --batch-mode -q --reduce-device-size 16M --type luks2 --uuid $luks_uuid \
	--pbkdf pbkdf2 --hash sha256 --pbkdf-force-iterations 1000 --key-file "$work/secret.key" "$work/secretfs" >/dev/null
place "$rhel" "$work/secretfs" 1566720

# ---- Fedora 39 on BIOS ---------------------------------------------------
fboot_uuid=8e2f0b1c-7d6a-4b5c-9e8f-0a1b2c3d4e01
fsid=8e2f0b1c-7d6a-4b5c-9e8f-0a1b2c3d4e02
fswap_uuid=8e2f0b1c-7d6a-4b5c-9e8f-0a1b2c3d4e03
fdata_uuid=8e2f0b1c-7d6a-4b5c-9e8f-0a1b2c3d4e04

fedora=$out/fedora.img
rm -f "$fedora"
truncate -s 400M "$fedora"
# 2048: /boot 32 MiB, 67584: btrfs 256 MiB, 591872: swap 16 MiB,
# 624640: data 16 MiB.
printf 'label: dos\nlabel-id: 0x5eed0f39\n2048,65536,83,*\n67584,524288,83\n591872,32768,82\n624640,32768,83\n' |
	sfdisk -q "$fedora"

mkdir -p "$work/fboot/grub2/themes"
printf 'set default=0\n' >"$work/fboot/grub2/grub.cfg"
mkfs.ext4 -q -F -U $fboot_uuid -E root_owner=0:0 -d "$work/fboot" "$work/fbootfs" 32M >/dev/null
place "$fedora" "$work/fbootfs" 2048

rm -f "$work/btrfs"
truncate -s 256M "$work/btrfs"
mkfs.btrfs -q -f -U $fsid -L fedora "$work/btrfs" >/dev/null
t=$work/ftree
mkdir -p $t/root/etc $t/root/boot $t/root/home $t/root/var/log $t/root/srv/data $t/home/bob $t/log/journal
osrelease 'Fedora Linux' 39 'Fedora Linux 39 (Workstation Edition)' fedora >$t/root/etc/os-release
echo fedora-ws >$t/root/etc/hostname
printf 'bob todo\n' >$t/home/bob/todo.txt
printf 'boot log\n' >$t/log/journal/boot.log
cat >$t/root/etc/fstab <<FSTAB

#
# /etc/fstab
# Created by anaconda on Fri Nov 10 14:02:33 2023
#
# Accessible filesystems, by reference, are maintained under '/dev/disk/'.
# See man pages fstab(5), findfs(8), mount(8) and/or blkid(8) for more info.
#
# After editing this file, run 'systemctl daemon-reload' to update systemd
# units generated from this file.
#
UUID=$fsid /                       btrfs   subvol=root,compress=zstd:1 0 0
UUID=$fboot_uuid /boot                   ext4    defaults        1 2
UUID=$fsid /home                   btrfs   subvol=home,compress=zstd:1 0 0
# added by the admin
UUID=$fsid /var/log btrfs subvolid=258 0 0
PARTUUID=5eed0f39-03 none swap sw 0 0
/dev/sda4	/srv/data	ext4	defaults,noatime	0 2
tmpfs /tmp tmpfs defaults 0 0
FSTAB
# Subvolume ids follow creation order: root 256, home 257, log 258.
fill "$work/btrfs" bash -c 'for s in root home log; do btrfs -q subvolume create $s; cp -a "$0/$s/." $s; done' "$t"
place "$fedora" "$work/btrfs" 67584

rm -f "$work/fswap"
truncate -s 16M "$work/fswap"
mkswap -q -L fswap -U $fswap_uuid "$work/fswap" >/dev/null
place "$fedora" "$work/fswap" 591872

mkdir -p "$work/fdata/reports"
printf 'q4 report\n' >"$work/fdata/reports/q4.txt"
mkfs.ext4 -q -F -L data -U $fdata_uuid -E root_owner=0:0 -d "$work/fdata" "$work/fdatafs" 16M >/dev/null
place "$fedora" "$work/fdatafs" 624640

# ---- openSUSE Tumbleweed -------------------------------------------------
suse_fsid=4d5e6f70-8192-4a3b-8c4d-5e6f70819201
suse=$out/suse.img
rm -f "$suse"
truncate -s 160M "$suse"
sgdisk -o -U 4d5e6f70-8192-4a3b-8c4d-000000000d15 \
	-n 1:2048:+150M -t 1:8300 -u 1:4d5e6f70-8192-4a3b-8c4d-000000000001 "$suse" >/dev/null
rm -f "$work/suse"
truncate -s 150M "$work/suse"
mkfs.btrfs -q -f -U $suse_fsid "$work/suse" >/dev/null
t=$work/susetree
mkdir -p $t/etc $t/home $t/srv $t/.snapshots
osrelease 'openSUSE Tumbleweed' 20231201 'openSUSE Tumbleweed' opensuse-tumbleweed >$t/etc/os-release
echo suse-box >$t/etc/hostname
cat >$t/etc/fstab <<FSTAB
UUID=$suse_fsid  /                       btrfs  defaults                      0  0
UUID=$suse_fsid  /.snapshots             btrfs  subvol=/@/.snapshots          0  0
UUID=$suse_fsid  /home                   btrfs  subvol=/@/home                0  0
UUID=$suse_fsid  /srv                    btrfs  subvol=/@/srv                 0  0
FSTAB
fill "$work/suse" bash -c '
	btrfs -q subvolume create @
	btrfs -q subvolume create @/.snapshots
	mkdir @/.snapshots/1
	btrfs -q subvolume create @/.snapshots/1/snapshot
	btrfs -q subvolume create @/home
	btrfs -q subvolume create @/srv
	cp -a "$0/." @/.snapshots/1/snapshot/
	mkdir -p @/home/carol @/srv/www
	printf "carol notes\n" >@/home/carol/notes.txt
	printf "suse www\n" >@/srv/www/index.html
	btrfs subvolume set-default @/.snapshots/1/snapshot
' "$t"
place "$suse" "$work/suse" 2048
