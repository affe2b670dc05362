#!/bin/bash
# lvmspan.sh OUT [bare] [vault]: a Linux guest grown the classic way: a second virtual
# disk, pvcreate, vgextend, lvextend. Its root logical volume then lies
# on two disks (run as root: the LVM tools need loop devices).
#   OUT/a.img, OUT/b.img  the two disks, raw: a is GPT with p1 an LVM
#           physical volume (pv0), b is a whole-disk physical volume
#           (pv1), both of volume group "grown" (4 MiB extents from 1 MiB):
#             root  ext4 over both: extents 0-9 on pv0 from 2, 10-15 on
#                   pv1 from 1
#             data  ext4 on pv1 alone (extents 7-8)
#             swap  on pv0 alone (extent 12)
#   OUT/vm/   the VM as Hyper-V keeps it: Virtual Machines/<id>.xml (a
#           2012 R2 configuration with both disks on IDE 0) and the disks
#           as dynamic VHDX, grown-a.vhdx and grown-b.vhdx
#   OUT/root.img.sha256  sha256 of root's filesystem image (the bytes the
#           joined volume must read)
#   OUT/root.files, OUT/data.files  sha256sum of every file of root and
#           data, paths relative to the volume
#   OUT/pvs.txt  pvs: "device uuid vg" (a.img's PV as "a", b's as "b")
#   OUT/lvs.txt  lvs --segments: "lv start count pv:first-last" per
#           segment, pv named a or b
#   OUT/lvsize.txt  lvs: "lv bytes"
#   OUT/blkid-root.txt  blkid -p -o export of root's filesystem image
# With "bare", b's physical volume has no metadata area (pvcreate
# --metadatacopies 0): the group's metadata is on a only. With "vault",
# the group has a fourth volume over both disks, vault (extent 13 of pv0,
# then extent 0 of pv1), a LUKS2 container (header on pv0, its data on
# pv1) opened by the passphrase "vault secret" (cryptsetup luksFormat:
# its keys and salts are random).
# UUIDs and file contents are fixed (mkfs.ext4 with E2FSPROGS_FAKE_TIME).
# Tools: sgdisk, mkfs.ext4 (e2fsprogs), mkswap + blkid (util-linux),
# pvcreate + vgcfgrestore + lvs + pvs (lvm2), openssl, iconv, qemu-img,
# losetup.
set -euo pipefail
out=$1
bmda=()
vault=
for arg in "${@:2}"; do
	case $arg in
	bare) bmda=(--metadatacopies 0) ;;
	vault) vault=1 ;;
	*) echo "lvmspan.sh: unknown option $arg" >&2; exit 2 ;;
	esac
done
mkdir -p "$out"
work=$(mktemp -d)
loopa= loopb=
cleanup() {
	for l in $loopa $loopb; do losetup -d "$l" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
export TZ=UTC LC_ALL=C E2FSPROGS_FAKE_TIME=1614834368 LVM_SUPPRESS_FD_WARNINGS=1

# Deterministic pseudo-random bytes: AES-CTR of zeros under a fixed key.
prng() { # SEED BYTES
	# openssl dies of SIGPIPE when head has read enough.
	{ openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$1")" -iv "$(printf '%032x' 0)" </dev/zero 2>/dev/null || true; } | head -c "$2"
}

root_uuid=6a0d1e2f-0000-4000-8000-0000000000a1
data_uuid=6a0d1e2f-0000-4000-8000-0000000000a2
swap_uuid=6a0d1e2f-0000-4000-8000-0000000000a3
uuida=GrowPA-0000-1111-2222-3333-4444-555566
uuidb=GrowPB-0000-1111-2222-3333-4444-555566

# root: 48 MiB of file data in a 64 MiB filesystem, so that more than
# the first 40 MiB (pv0's part) is used.
t=$work/root
mkdir -p "$t/etc" "$t/srv/big" "$t/home/admin"
printf 'NAME="Ubuntu"\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\nID=ubuntu\n' >"$t/etc/os-release"
printf 'grown\n' >"$t/etc/hostname"
printf '/dev/mapper/grown-root / ext4 defaults 0 1\n/dev/mapper/grown-data /srv/data ext4 defaults 0 2\n/dev/mapper/grown-swap none swap sw 0 0\n' >"$t/etc/fstab"
prng 1 $((20 << 20)) >"$t/srv/big/one.bin"
prng 2 $((28 << 20 | 4321)) >"$t/srv/big/two.bin"
for i in $(seq 1 40); do printf 'note %d\n' "$i" >"$t/home/admin/note$i.txt"; done
mkfs.ext4 -q -F -U $root_uuid -L root -E root_owner=0:0 -d "$t" "$work/root.img" 64M >/dev/null
(cd "$t" && find . -type f | sort | sed 's|^\./||' | xargs sha256sum) >"$out/root.files"
sha256sum <"$work/root.img" | cut -d' ' -f1 >"$out/root.img.sha256"
blkid -p -o export "$work/root.img" | grep -v ^DEVNAME= >"$out/blkid-root.txt"

t=$work/data
mkdir -p "$t"
prng 3 $((3 << 20 | 77)) >"$t/payload.bin"
printf 'on the second disk\n' >"$t/README"
mkfs.ext4 -q -F -U $data_uuid -L data -E root_owner=0:0 -d "$t" "$work/data.img" 8M >/dev/null
(cd "$t" && find . -type f | sort | sed 's|^\./||' | xargs sha256sum) >"$out/data.files"

truncate -s 4M "$work/swap.img"
mkswap -q -U $swap_uuid "$work/swap.img" >/dev/null
if [ -n "$vault" ]; then
	truncate -s 8M "$work/vault.img"
	printf 'vault secret' | cryptsetup luksFormat -q --type luks2 --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--luks2-metadata-size 16k --luks2-keyslots-size 256k --uuid 6a0d1e2f-0000-4000-8000-0000000000a4 \
		--key-file - "$work/vault.img" 2>/dev/null
fi

# The physical volumes: pv0 is 62 MiB (partition 1 of a), pv1 40 MiB (all
# of b).
pva=$work/pva
truncate -s 62M "$pva"
truncate -s 40M "$work/b.img"
loopa=$(losetup -f --show "$pva")
loopb=$(losetup -f --show "$work/b.img")
lvmcfg='devices { use_devicesfile=0 } backup { backup=0 archive=0 }'
devs=(--devices "$loopa" --devices "$loopb")
pvcreate -q -ff -y --config "$lvmcfg" "${devs[@]}" --uuid $uuida --norestorefile "$loopa" >/dev/null
pvcreate -q -ff -y --config "$lvmcfg" "${devs[@]}" --uuid $uuidb "${bmda[@]}" --norestorefile "$loopb" >/dev/null
seg() { # N START COUNT PV PVSTART
	printf '\t\t\tsegment%d {\n\t\t\t\tstart_extent = %d\n\t\t\t\textent_count = %d\n' "$1" "$2" "$3"
	printf '\t\t\t\ttype = "striped"\n\t\t\t\tstripe_count = 1\n\t\t\t\tstripes = [ "%s", %d ]\n\t\t\t}\n' "$4" "$5"
}
lv() { # NAME ID SEGMENTS
	printf '\t\t%s {\n\t\t\tid = "%s"\n\t\t\tstatus = ["READ", "WRITE", "VISIBLE"]\n\t\t\tflags = []\n\t\t\tsegment_count = %d\n' "$1" "$2" "$3"
}
{
	cat <<VG
contents = "Text Format Volume Group"
version = 1
grown {
	id = "GrowVG-0000-1111-2222-3333-4444-555566"
	seqno = 7
	format = "lvm2"
	status = ["RESIZEABLE", "READ", "WRITE"]
	flags = []
	extent_size = 8192
	max_lv = 0
	max_pv = 0
	metadata_copies = 0
	physical_volumes {
		pv0 {
			id = "$uuida"
			device = "$loopa"
			status = ["ALLOCATABLE"]
			flags = []
			dev_size = 126976
			pe_start = 2048
			pe_count = 15
		}
		pv1 {
			id = "$uuidb"
			device = "$loopb"
			status = ["ALLOCATABLE"]
			flags = []
			dev_size = 81920
			pe_start = 2048
			pe_count = 9
		}
	}
	logical_volumes {
VG
	lv root GrowLV-0000-1111-2222-3333-4444-000001 2
	seg 1 0 10 pv0 2
	seg 2 10 6 pv1 1
	printf '\t\t}\n'
	lv data GrowLV-0000-1111-2222-3333-4444-000002 1
	seg 1 0 2 pv1 7
	printf '\t\t}\n'
	lv swap GrowLV-0000-1111-2222-3333-4444-000003 1
	seg 1 0 1 pv0 12
	printf '\t\t}\n'
	if [ -n "$vault" ]; then
		lv vault GrowLV-0000-1111-2222-3333-4444-000004 2
		seg 1 0 1 pv0 13
		seg 2 1 1 pv1 0
		printf '\t\t}\n'
	fi
	printf '\t}\n}\n'
} >"$work/vg.txt"
# vgcfgrestore warns that it cannot reach device-mapper; the metadata is
# written to both physical volumes all the same.
vgcfgrestore -q --config "$lvmcfg" "${devs[@]}" -f "$work/vg.txt" grown >/dev/null 2>&1
# What LVM itself says, for the tests to compare with; the loop devices
# named a and b.
names() { sed -e "s|$loopa|a|g" -e "s|$loopb|b|g"; }
pvs -q --config "$lvmcfg" "${devs[@]}" --noheadings -o pv_name,pv_uuid,vg_name 2>/dev/null | names | awk '{$1=$1; print}' >"$out/pvs.txt"
lvs -q --config "$lvmcfg" "${devs[@]}" --noheadings --segments -o lv_name,seg_start_pe,seg_size_pe,seg_pe_ranges grown 2>/dev/null |
	names | awk '{$1=$1; print}' >"$out/lvs.txt"
lvs -q --config "$lvmcfg" "${devs[@]}" --noheadings --units b --nosuffix -o lv_name,lv_size grown 2>/dev/null |
	awk '{$1=$1; print}' >"$out/lvsize.txt"
losetup -d "$loopa"
losetup -d "$loopb"
loopa= loopb=
want=4
if [ -n "$vault" ]; then want=6; fi
[ "$(wc -l <"$out/lvs.txt")" = $want ] || { echo "lvs lists $(wc -l <"$out/lvs.txt") segments, want $want" >&2; exit 1; }

# Each filesystem copied where lvs says its extents are: extent e of a
# physical volume at 1 MiB + 4 MiB * e.
copyext() { # IMG PVFILE PVEXTENT LVEXTENT COUNT
	dd if="$1" of="$2" bs=1M skip=$((4 * $4)) seek=$((1 + 4 * $3)) count=$((4 * $5)) conv=notrunc,sparse status=none
}
while read -r name start count range; do
	pv=${range%%:*}
	first=${range#*:}
	first=${first%-*}
	case $pv in a) file=$pva ;; b) file=$work/b.img ;; esac
	copyext "$work/$name.img" "$file" "$first" "$start" "$count"
done <"$out/lvs.txt"

truncate -s 64M "$work/a.img"
sgdisk -o -U 6a0d1e2f-0000-4000-8000-00000000d15a \
	-n 1:2048:+62M -t 1:8E00 -u 1:6a0d1e2f-0000-4000-8000-000000000001 "$work/a.img" >/dev/null
dd if="$pva" of="$work/a.img" bs=1M seek=1 conv=notrunc,sparse status=none
cp --sparse=always "$work/a.img" "$work/b.img" "$out/"

vm=$out/vm
id=6A0D1E2F-0000-4000-8000-00000000A11D
mkdir -p "$vm/Virtual Machines"
qemu-img convert -f raw -O vhdx -o subformat=dynamic "$work/a.img" "$vm/grown-a.vhdx"
qemu-img convert -f raw -O vhdx -o subformat=dynamic "$work/b.img" "$vm/grown-b.vhdx"
drive() { # N FILE
	printf '<drive%d><pathname type="string">C:\\Hyper-V\\grown\\%s</pathname><type type="string">VHD</type></drive%d>' "$1" "$2" "$1"
}
{
	printf '\xff\xfe'
	{
		printf '<?xml version="1.0" encoding="UTF-16" standalone="yes"?>\n<configuration>\n'
		printf '<_83f8638b-8dca-4152-9eda-2ca8b33039b4_><controller0>%s%s</controller0></_83f8638b-8dca-4152-9eda-2ca8b33039b4_>\n' \
			"$(drive 0 grown-a.vhdx)" "$(drive 1 grown-b.vhdx)"
		printf '<properties><global_id type="string">%s</global_id><name type="string">grown</name></properties>\n' $id
		printf '<settings><global><logical_id type="string">%s</logical_id></global></settings>\n</configuration>\n' $id
	} | iconv -f UTF-8 -t UTF-16LE
} >"$vm/Virtual Machines/$id.xml"
