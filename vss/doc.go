// Package vss reads Volume Shadow Copies: the earlier states of an NTFS
// volume that Windows keeps (System Restore, Previous Versions, backups).
//
// A volume with shadow copies enabled carries a header at offset 0x1e00
// pointing to a catalog of 16 KiB blocks. The catalog lists each copy
// (identifier, creation time, volume size) and where its store is: a
// block list saying which 16 KiB blocks of the volume were copied before
// Windows overwrote them, and bitmaps of blocks the copy did not use. The
// layout is the same from Windows Server 2003 to Windows 10; the store
// data may live on another volume (the header names it), which
// Volume.AttachStorage supplies.
//
// A copy's volume is the live volume with, block by block, the data each
// store saved laid over it, newest store first: reading copy N consults
// store N, then N+1, and so on, then the live volume. Forwarders (blocks
// moved rather than copied), overlays (single sectors copied) and the
// newest store's unused-block bitmaps follow the rules libvshadow
// documents in "Volume Shadow Snapshot (VSS) format"; unused blocks read
// as zeros, as libvshadow gives them.
//
// NewVolume reads only the header, the catalog and one block per copy;
// Store.Open reads the block lists of that copy and the newer ones, so the
// cost follows the copies' metadata, never the volume's size. Every chain
// of blocks is checked for loops and bounded in length, and every offset
// read from the disk is checked against its volume before use.
package vss
