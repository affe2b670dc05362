#!/bin/bash
# lvmcopies.sh OUT: one LVM physical volume with two metadata areas
# (pvcreate --metadatacopies 2: one after the label, one at the end of the
# volume), of volume group "twice" with one logical volume, "data", over
# its first two extents, written by the real lvm tools (run as root: a
# loop device). OUT/pv.img, 16 MiB (the areas at 4 KiB and 15 MiB; pvs
# must count two).
set -euo pipefail
out=$1
mkdir -p "$out"
img=$out/pv.img
rm -f "$img"
truncate -s 16M "$img"
loop=$(losetup -f --show "$img")
trap 'losetup -d "$loop"' EXIT
cfg='devices { use_devicesfile=0 } backup { backup=0 archive=0 }'
uuid=TwiceP-0000-1111-2222-3333-4444-555566
pvcreate -q -ff -y --config "$cfg" --devices "$loop" --metadatacopies 2 --uuid $uuid --norestorefile "$loop" >/dev/null
cat >"$out/vg.txt" <<VG
contents = "Text Format Volume Group"
version = 1
twice {
	id = "TwiceV-0000-1111-2222-3333-4444-555566"
	seqno = 3
	format = "lvm2"
	status = ["RESIZEABLE", "READ", "WRITE"]
	flags = []
	extent_size = 8192
	max_lv = 0
	max_pv = 0
	metadata_copies = 0
	physical_volumes {
		pv0 {
			id = "$uuid"
			device = "/dev/sda"
			status = ["ALLOCATABLE"]
			flags = []
			dev_size = 32768
			pe_start = 2048
			pe_count = 3
		}
	}
	logical_volumes {
		data {
			id = "TwiceL-0000-1111-2222-3333-4444-000001"
			status = ["READ", "WRITE", "VISIBLE"]
			flags = []
			segment_count = 1
			segment1 {
				start_extent = 0
				extent_count = 2
				type = "striped"
				stripe_count = 1
				stripes = [ "pv0", 0 ]
			}
		}
	}
}
VG
# vgcfgrestore warns that it cannot reach device-mapper; the metadata is
# written to both areas all the same.
vgcfgrestore -q --config "$cfg" --devices "$loop" -f "$out/vg.txt" twice >/dev/null 2>&1
pvs --config "$cfg" --devices "$loop" --noheadings --units b --nosuffix -o pv_mda_count | grep -q '^ *2$' ||
	{ echo "pvs does not count two metadata areas" >&2; exit 1; }
rm -f "$out/vg.txt"
