// Package regf reads Windows registry hive files (the "regf" format of
// Windows NT and later: SYSTEM, SOFTWARE, SAM, NTUSER.DAT), read-only,
// from an io.ReaderAt and a size, like archive/zip.
//
// A hive is a 4 KiB base block followed by hive bins ("hbin") holding
// cells; a cell's offset counts from the end of the base block. Keys are
// "nk" cells naming their subkey list (lf, lh or li, or an ri index of
// such lists) and their value list; values are "vk" cells whose data lies
// in the cell, in another cell, or for data past 16,344 bytes in the
// segments of a "db" cell. Names are matched without regard to case, as
// Windows does.
//
// Only the primary file is read: changes still in a dirty hive's
// transaction logs (.LOG1, .LOG2) are not applied, and Hive.Dirty says
// when there may be some. Every offset, count and length read from the
// file is checked against its size and bounds before use; malformed input
// gives an error wrapping ErrFormat, never a panic.
package regf
