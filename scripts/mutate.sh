#!/usr/bin/env bash
# CLI mutation run (make mutate): builds small base images with real tools,
# mutates them at every structure ckptfs parses (VHDX headers, region
# tables, metadata, BAT, log; VHD footer, dynamic header and BAT; GPT and
# MBR; NTFS boot sector, MFT records, INDX blocks, runlists; FAT boot
# sector, FAT and root directory), and runs each mutant through
# `ckptfs check`, a FUSE mount and a full read of the mounted tree. It
# records panics, hangs (timeouts), the largest RSS, and silent
# acceptances: `check` clean while the files the mount serves differ from
# the unmutated image's. Usage: scripts/mutate.sh [-n MUTANTS] [-seed N]
# [-bases exfat-gpt,...] (ldm and lvmspan are bases of several disks)
# Needs root (FUSE), mkntfs, ntfscp, sgdisk, sfdisk, mkfs.fat, mcopy, qemu-img,
# and for exFAT mkfs.exfat and mount.exfat-fuse; for ldm mkntfs, ntfs-3g,
# mtools, openssl; for lvmspan lvm2, losetup and mkfs.ext4.
set -euo pipefail
cd "$(dirname "$0")/.."
out=testdata/out/mutate
mkdir -p "$out" bin
go build -o bin/ckptfs ./cmd/ckptfs
go build -o bin/mutate ./tools/mutate

# NTFS on GPT, as a dynamic VHDX written by qemu-img.
if [ ! -f "$out/ntfs-gpt.vhdx" ]; then
	raw="$out/ntfs-gpt.raw"
	rm -f "$raw" && truncate -s 24M "$raw"
	sgdisk -o -n 1:2048:+20M -t 1:0700 -c 1:data "$raw" >/dev/null
	part="$out/ntfs-part.img"
	rm -f "$part" && truncate -s 20M "$part"
	mkntfs -q -F -Q -s 512 -c 4096 -L MUTANT "$part" >/dev/null 2>&1
	tmp=$(mktemp -d)
	for i in $(seq 1 40); do
		printf 'file %d of the mutation base\n' "$i" > "$tmp/f"
		ntfscp -f "$part" "$tmp/f" "a-rather-long-file-name-to-fill-index-blocks-$i.txt" >/dev/null
	done
	head -c 300000 /dev/urandom > "$tmp/big"
	ntfscp -f "$part" "$tmp/big" big.bin >/dev/null
	printf 'small stream\n' > "$tmp/s"
	ntfscp -f -N notes "$part" "$tmp/s" big.bin >/dev/null
	rm -rf "$tmp"
	dd if="$part" of="$raw" bs=1M seek=1 conv=notrunc status=none
	rm -f "$part"
	qemu-img convert -f raw -O vhdx -o subformat=dynamic "$raw" "$out/ntfs-gpt.vhdx"
fi

# FAT16 on MBR, as a dynamic VHD (footer, dynamic header, BAT).
if [ ! -f "$out/fat-mbr.vhd" ]; then
	raw="$out/fat-mbr.raw"
	rm -f "$raw" && truncate -s 16M "$raw"
	echo 'start=2048, type=06' | sfdisk -q "$raw" >/dev/null
	part="$out/fat-part.img"
	rm -f "$part" && mkfs.fat -C -F 16 -n MUTANT "$part" $(( (16 * 1024) - 1024 )) >/dev/null
	tmp=$(mktemp -d)
	for i in $(seq 1 30); do
		printf 'fat file %d\n' "$i" > "$tmp/f$i.txt"
	done
	mmd -i "$part" ::/docs
	mcopy -i "$part" "$tmp"/f*.txt ::/docs/
	head -c 100000 /dev/urandom > "$tmp/big.bin"
	mcopy -i "$part" "$tmp/big.bin" ::/
	rm -rf "$tmp"
	dd if="$part" of="$raw" bs=1M seek=1 conv=notrunc status=none
	rm -f "$part"
	qemu-img convert -f raw -O vpc -o subformat=dynamic "$raw" "$out/fat-mbr.vhd"
fi

# exFAT on GPT, as a dynamic VHDX: the tiny image of testdata/exfat
# (written through mount.exfat-fuse).
if [ ! -f "$out/exfat-gpt.vhdx" ]; then
	img=testdata/out/exfat/tiny.img
	[ -f "$img" ] || bash testdata/exfat/gen.sh testdata/out/exfat tiny
	raw="$out/exfat-gpt.raw"
	rm -f "$raw" && truncate -s 3M "$raw"
	sgdisk -o -n 1:2048:+256K -t 1:0700 -c 1:data "$raw" >/dev/null
	dd if="$img" of="$raw" bs=1M seek=1 conv=notrunc status=none
	qemu-img convert -f raw -O vhdx -o subformat=dynamic "$raw" "$out/exfat-gpt.vhdx"
fi

# Bases of several disks, each mutant changing one of them, the folder
# (no VM configuration) given to ckptfs: three Windows dynamic disks of
# one disk group (testdata/ldm, NTFS and FAT volumes simple, spanned,
# striped, mirrored and RAID-5), and an LVM volume group over two disks
# (testdata/guest/lvmspan.sh, root ext4 over both).
if [ ! -f "$out/ldm/disk3.vhdx" ]; then
	bash testdata/ldm/gen.sh "$out/ldm" >/dev/null
	for d in disk1 disk2 disk3; do
		qemu-img convert -f raw -O vhdx -o subformat=dynamic "$out/ldm/$d.img" "$out/ldm/$d.vhdx"
	done
fi
if [ ! -f "$out/lvmspan/b.vhdx" ]; then
	bash testdata/guest/lvmspan.sh "$out/lvmspan" >/dev/null
	for d in a b; do
		qemu-img convert -f raw -O vhdx -o subformat=dynamic "$out/lvmspan/$d.img" "$out/lvmspan/$d.vhdx"
	done
fi

rm -rf "$out"/kept-*
exec bin/mutate -bin bin/ckptfs -dir "$out" "$@"
