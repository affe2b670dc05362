// Package ldm reads Windows dynamic disks: the Logical Disk Manager (LDM)
// database that Windows 2000 to Windows Server 2022 keep on every disk
// converted to "dynamic", and the volumes it describes.
//
// Old Windows servers converted to virtual machines (Disk2vhd, P2V tools)
// often carry dynamic disks: their volumes are not partitions of the
// disk's table but runs of sectors the database lists, possibly spread
// over several disks. On an MBR disk one partition of type 0x42 covers
// the data area and the database takes the last megabyte of the disk; on
// a GPT disk the database is the "LDM metadata" partition and the data
// area the "LDM data" partition.
//
// A disk is read with NewDisk: its PRIVHEAD (the disk's identity, its
// group, where its data area and database lie), the table of contents
// (TOCBLOCK), the database header (VMDB) and the records (VBLKs, some
// spanning several blocks) describing the group's disks, volumes,
// components and partitions. Every disk of a group holds a copy of the
// whole database. NewGroup joins the disks of one group, keeping the copy
// of the highest committed sequence number (when two copies of that
// number hold different records, which is right cannot be told: a volume
// they describe alike is read all the same, one they describe otherwise
// is refused, see Group.Disputed), and Group.Open reads a
// volume's bytes from the disks present: simple volumes, spanned volumes
// (one or several extents, on one or several disks), striped volumes,
// mirrored volumes (read from the first plex whose disks are all there),
// and RAID-5 volumes (left symmetric, as Windows writes them; with one
// disk missing, its column is rebuilt from the others and the parity). A
// volume with an extent on a disk not given (two, for RAID-5) is reported
// as ErrMissingDisk, naming it.
//
// Offsets and sizes are bytes; the on-disk sectors are 512 bytes (disks of
// 4096-byte logical sectors are not read). The package never writes.
package ldm
