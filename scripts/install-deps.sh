#!/usr/bin/env bash
# Installs the Debian packages ckptfs's tests and demo use, when missing.
# Run as root or with sudo available. Go itself is expected at /usr/local/go
# or on PATH (https://go.dev/dl/).
set -euo pipefail
packages=(fuse3 qemu-utils ntfs-3g libvhdi-utils sleuthkit gdisk fdisk dosfstools mtools attr acl e2fsprogs xorriso bzip2 openssl lvm2
	xz-utils xfsprogs btrfs-progs libvshadow-utils cryptsetup-bin dislocker libnbd-bin nbd-client wimtools libfsntfs-utils libhivex-bin nginx fio
	exfatprogs exfat-fuse ldmtool procps)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "installing: ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || { echo "Go is not installed: see https://go.dev/dl/" >&2; exit 1; }
# Azurite, Microsoft's Azure Storage emulator, for the remote-source tests.
# Node.js and npm come from Debian only where the machine has none: a
# machine with NodeSource's nodejs (which holds npm) cannot take Debian's
# npm package, whose install then fails.
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v npm >/dev/null; then
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
fi
command -v azurite-blob >/dev/null || $sudo npm install -g --silent azurite@3 >/dev/null
