#!/bin/bash
# acl.sh IMG labelled|unlabelled: a 16 MiB ext4 volume written through the
# kernel (root, loop mount) with POSIX ACLs set by setfacl: a named user
# granted, a named user denied, a named group, a mask that takes a grant
# back, a default ACL inherited. "labelled" also gives SELinux labels to the
# root and every file but plain.txt (setfattr; the host needs no SELinux
# to store them), as an installation that labels its files does;
# "unlabelled" gives one, to odd/labelled.txt, as a file copied with its
# label onto a volume that has none. Owners and groups are numeric: 1000
# owns shared/, 1001 and 1002 are named in ACLs, 1003 is a named group.
set -eu
img=$1 kind=$2
mnt=$(mktemp -d)
trap 'umount "$mnt" 2>/dev/null || true; rmdir "$mnt"' EXIT
export E2FSPROGS_FAKE_TIME=1700000000
rm -f "$img"
truncate -s 16M "$img"
case $kind in
labelled) uuid=5c1d0a7e-ac10-4e11-9a5e-000000000001 ;;
unlabelled) uuid=5c1d0a7e-ac10-4e11-9a5e-000000000002 ;;
*)
	echo "acl.sh: labelled or unlabelled, not $kind" >&2
	exit 2
	;;
esac
mkfs.ext4 -q -F -U $uuid -E root_owner=0:0 "$img"
mount -o loop "$img" "$mnt"
cd "$mnt"
rmdir lost+found

# label FILE: the SELinux label a labelled installation gives, stored as
# the kernel stores it (NUL-terminated).
label() { setfattr -n security.selinux -v 0x"$(printf 'system_u:object_r:etc_t:s0\0' | od -An -v -tx1 | tr -d ' \n')" "$1"; }

mkdir shared
chown 1000:1000 shared
chmod 0750 shared
setfacl -m u:1001:rx shared
setfacl -d -m u:1001:r shared
echo report >shared/report.txt # inherits u:1001:r
chown 1000:1000 shared/report.txt
echo open >open.txt
chmod 0644 open.txt
setfacl -m u:1002:--- open.txt
echo group >group.txt
chmod 0640 group.txt
setfacl -m g:1003:r group.txt
echo masked >masked.txt
chmod 0644 masked.txt
setfacl -m u:1001:rw,m::--- masked.txt
echo private >private.txt
chown 1000:1000 private.txt
chmod 0600 private.txt
echo plain >plain.txt
chmod 0644 plain.txt
case $kind in
labelled)
	for f in . shared shared/report.txt open.txt group.txt masked.txt private.txt; do label "$f"; done
	;;
unlabelled)
	mkdir odd
	echo odd >odd/labelled.txt
	label odd/labelled.txt
	;;
esac
cd /
umount "$mnt"
