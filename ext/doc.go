// Package ext reads ext2, ext3 and ext4 filesystems read-only, from an
// io.ReaderAt over the volume, and presents them as an io/fs.FS with the
// metadata Linux shows: modes, owners, nanosecond times, link counts,
// inode numbers, device numbers, symbolic links and extended attributes
// (POSIX ACLs in the kernel's xattr form).
//
// File data is read by extent trees (ext4) or block maps (ext2/ext3, with
// indirect blocks), or from the inode for inline data; holes and
// unwritten extents read as zeros, as the kernel reads them. Directories
// may be linear or hashed (htree), in blocks or inline. 64-bit block
// numbers, flex_bg, meta_bg, bigalloc and huge files are read.
//
// A journal left needing recovery (a crash, or a checkpoint of a running
// guest) is replayed in memory, as the kernel's mount replays it: reads
// of the blocks it logged come from the journal (package internal/jbd2),
// the volume is never written. Journal says what was done;
// Options.NoRecovery shows the last written-back state instead, as
// `mount -o ro,noload` does. Compression, encrypted files and attribute
// values kept in their own inodes fail with ErrUnsupported. Checksums are
// not verified; every count, offset and tree level read from the volume
// is checked against the volume and a cap before use, trees are walked
// with depth limits and each node at most once, so hostile images give
// errors, not panics or runaway reads.
//
// Metadata is cached: inode tables are read a chunk at a time and kept,
// with directory listings, in bounded caches, so walks of many small
// files cost few reads; a name in a large directory whose listing is not
// cached is found through its htree index (legacy, half-MD4 and TEA
// hashes, signed or unsigned), one or two index blocks and one leaf. An
// FS is safe for concurrent use.
package ext
