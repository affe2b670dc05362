# Sourced by the generators that write a volume through a FUSE driver
# (ntfs-3g, exfat-fuse).
#
# fuse_unmount MNT IMG: unmounts MNT and returns once the driver that
# served IMG has exited. On a loaded machine the unmount can be refused
# for a moment ("Device or resource busy": a process still leaving the
# tree), so it is retried for up to 10 s. A driver on a plain file gets no
# DESTROY from the kernel before the unmount returns, and writes its last
# metadata while exiting: reading IMG before then would copy a volume
# still being written.
fuse_unmount() {
	local mnt=$1 img=$2 i
	for i in $(seq 50); do
		fusermount3 -u "$mnt" 2>/dev/null && break
		sleep 0.2
	done
	if mountpoint -q "$mnt"; then
		echo "cannot unmount $mnt" >&2
		fusermount3 -u "$mnt"
		return 1
	fi
	for i in $(seq 300); do
		fuse_driver_of "$img" || return 0
		sleep 0.1
	done
	echo "the driver of $img did not exit" >&2
	return 1
}

# fuse_driver_of IMG: whether a FUSE driver (ntfs-3g, exfat-fuse) whose
# arguments name IMG still runs (the generator's own command line may name
# IMG too, so the process name is checked first).
fuse_driver_of() {
	local p
	for p in $(pgrep 'ntfs-3g|exfat'); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- " $1 " && return 0
	done
	return 1
}
