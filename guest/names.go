package guest

import "fmt"

// Volume names. These are the one rule for what a volume is called: the
// mount's directory names, checkpoint.json, `ckptfs cat/cp SRC CK VOL/...`
// and diff all take Volume.Name as made here (the mount then only makes
// names unique within a checkpoint directory, see catalog.Namer).

// PartitionName names partition number n (1-based, as in the table) of
// disk: "<disk>-p<n>".
func PartitionName(disk string, n int) string { return fmt.Sprintf("%s-p%d", disk, n) }

// WholeDiskName names the one volume of a disk without a partition table:
// "<disk>-vol".
func WholeDiskName(disk string) string { return disk + "-vol" }

// LogicalVolumeName names LVM logical volume lv of group vg found on the
// physical volume named pv: "<pv>-<vg>-<lv>".
func LogicalVolumeName(pv, vg, lv string) string { return pv + "-" + vg + "-" + lv }

// DynamicVolumeName names volume vol (as the LDM database names it,
// "Volume1") of Windows dynamic disks, listed beside the disk named disk
// (the disk of its first extent): "<disk>-ldm-<vol>".
func DynamicVolumeName(disk, vol string) string { return disk + "-ldm-" + vol }
