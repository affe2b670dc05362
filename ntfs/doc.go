// Package ntfs reads NTFS volumes from an io.ReaderAt, read-only: files,
// directories, named streams, hard links, reparse points (symlinks,
// junctions, WOF compression), extended attributes and WSL metadata,
// security descriptors, and MFT records by number. It writes nothing and
// needs nothing but the volume's bytes: NewVolume(r, size) opens one,
// Open(path) wraps a file or device. A *Volume is an io/fs.FS
// (ReadDirFS, StatFS, ReadLinkFS) and safe for concurrent use.
//
// # What a walk costs
//
// The reader is built for walks of whole trees (find, ls -l, a copy of a
// folder) as much as for single paths:
//
//   - ReadDir reads the directory's index only. Each entry's Type comes
//     from the flags its index entry keeps, without reading the entry's
//     MFT record (system files and reparse points that are not links are
//     the exception: their record says what they are). DirEntry.Info
//     reads the record; the sizes and times an index entry also carries
//     are never used, since NTFS updates them lazily.
//   - A listing is kept (within a bound): a LookupIn or path step into a
//     directory just listed is a binary search of it, not a descent of
//     the index; names a listing leaves out (short 8.3 names, metadata
//     files, other cases) are still found through the index.
//   - MFT records are read in 4 KiB blocks. When an entry of a listed
//     directory is described (DirEntry.Info, LookupIn), the records of
//     its neighbouring children are read with it in one request: files
//     made together have records together, and a walk describes them all.
//   - Decoded records, index blocks and raw $MFT blocks are kept in
//     bounded caches per volume.
package ntfs
