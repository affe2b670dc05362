// Package btrfs reads btrfs filesystems read-only, from one io.ReaderAt
// per device (NewVolume for one device, OpenDevices for several).
//
// OpenDevices takes the devices in any order: they must share one fsid
// and be distinct devices (devid and device UUID) the chunk tree lists;
// the newest superblock of the set is used. It maps the chunks of every
// profile: single, DUP, RAID0, RAID1, RAID1C3, RAID1C4, RAID10, RAID5 and
// RAID6 (rows of stripe_len units whose parity rotates one device per
// row). A device may be missing (Volume.Missing): mirrored profiles read
// the other copies, RAID5 rebuilds a lost unit from P, RAID6 from P, from
// Q or from both when two devices are lost; bytes that only a missing
// device holds fail with ErrDevices naming it, never wrong bytes.
//
// It walks the root and FS trees with bounded, order-checked descents,
// and verifies every tree block and data sector against its checksum
// (crc32c, xxhash64, sha256, blake2b): a copy that fails is replaced by
// the next (another mirror, a parity rebuild), and when none checks out
// the read is an error, never wrong bytes. File data
// may be inline, regular, preallocated (zeros) or a hole, and compressed
// with zlib, LZO or zstd.
//
// Open returns the default subvolume as an io/fs.FS, the tree the kernel
// mounts without a subvol option; nested subvolumes and snapshots appear
// as directories where they are linked. Volume.Subvolume opens any other
// subvolume, and subvolume 5 (the top level) reaches them all. FileInfo
// values carry inode numbers, link counts, owners, nanosecond times and
// extended attributes.
//
// A log tree left by a crash or a checkpoint of a running guest (changes
// fsync'd after the last commit) is replayed in memory when the volume is
// opened, as the kernel replays it at mount; Volume.Log says what was
// done, and Options.NoRecovery shows the last committed state instead.
package btrfs
