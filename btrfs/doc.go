// Package btrfs reads btrfs filesystems read-only, from an io.ReaderAt
// over one device.
//
// It maps the chunks (SINGLE and DUP; striped or multi-device profiles
// fail with ErrDevices for the bytes on other devices), walks the root
// and FS trees with bounded, order-checked descents, and verifies every
// tree block and data sector against its checksum (crc32c, xxhash64,
// sha256, blake2b): a mismatch is an error, never wrong bytes. File data
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
