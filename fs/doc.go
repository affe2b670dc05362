// Package fs serves a catalog of checkpoints as a read-only go-fuse node
// tree. The layout is:
//
//	checkpoints/<checkpoint>/disks/<disk>.raw     flattened disk image
//	checkpoints/<checkpoint>/<volume>/...          guest files of one volume
//	checkpoints/<checkpoint>/volumes/<volume>.raw  each volume's own bytes
//	checkpoints/<checkpoint>/shadows/<volume>/...  guest files of a shadow copy
//	checkpoints/<checkpoint>/checkpoint.json       id, name, created, parent, disks, volumes
//	by-time/<2006-01-02T15.04.05> -> ../checkpoints/<checkpoint>
//	latest -> checkpoints/<live checkpoint>
//
// With several VMs in the catalog each VM gets one more level:
// /<vm>/checkpoints/..., /<vm>/by-time/..., /<vm>/latest.
//
// # Names
//
// Every name the tree makes from catalog data passes through
// catalog.Namer, the rule the CLI shares: catalog.SafeName ("/", NUL and
// control characters become "_", "." and ".." become "_." and "_..", names
// are cut to 255 bytes), and within one directory a name already taken
// gets " (2)", " (3)", ... in catalog order. Disk and volume names follow
// catalog.CheckpointNamer, as every command's do: volumes never take the
// names "disks", "volumes", "shadows" or "checkpoint.json". Guest file
// names are shown as the filesystem gives them. by-time names are the
// creation time in UTC with dots in place of colons (colons upset Windows
// tools and scp); checkpoints without a creation time are left out of
// by-time.
//
// # Guest files
//
// A volume's io/fs.FS is read lazily: directories answer Lookup and
// Readdir (sorted) on demand. Modes are the guest's: NTFS files 0644, or
// 0444 when read-only, directories 0755; ext files their own bits and
// owners (POSIXAttributer); a filesystem that keeps none (FAT, ISO) shows
// read-only bits. Writes are refused whatever the mode says. Inode
// numbers are unique across the mount (inode.go): each volume directory
// has its own range, within which a file is numbered by its identity (the
// guest.FileIdentity of its FileInfo.Sys(): NTFS MFT record, ext inode, so
// hard links are one inode) or, without one, by its path.
//
// The tree names no filesystem: everything io/fs cannot say comes from
// the optional interfaces of package guest's contract, on FileInfo.Sys()
// (guest.FileIdentity, LinkCounter, POSIXAttributer, the times,
// WindowsAttributer, StreamLister, Xattrer), on the fs.FS
// (io/fs.ReadLinkFS, guest.StreamFS, POSIXLinker, DirLookuper) and on the
// open file (guest.ExtentMapper: views of the disk, st_blocks,
// SEEK_DATA/SEEK_HOLE). NTFS volumes are checked against ntfs-3g in the
// tests.
//
// # Symbolic links
//
// A guest symlink or junction is shown as a symlink whose target can never
// resolve outside its volume directory; see guest.RewriteLink for the rule.
//
// # Extended attributes
//
//	user.ckptfs.attributes   Windows FILE_ATTRIBUTE_* flags as "0x%08x"
//	user.ckptfs.crtime       creation time, RFC 3339 with nanoseconds, UTC
//	user.<stream>            content of alternate data stream <stream>
//	                         (as ntfs-3g's streams_interface=xattr)
//	<name>                   a Linux filesystem's own extended attributes
//	                         (guest.Xattrer), under their full names
//
// A stream or attribute whose name collides with a user.ckptfs.* name is
// hidden. Values above 64 KiB (the kernel's xattr limit) answer E2BIG. What
// a name a file lacks answers, ENODATA or EOPNOTSUPP, is decided in
// xattrabsent.go.
package fs
