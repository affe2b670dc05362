// Package diff compares two checkpoints of a VM: which byte ranges of each
// virtual disk differ, and which guest files and directories were added,
// removed, modified or renamed.
//
// Its cost follows the size of the change, not of the disks. Candidate
// ranges come from the BATs and sector bitmaps of only the layers that lie
// between the two checkpoints (the layers of one chain that the other does
// not share); the layers both chains share are never walked. The candidates
// are then confirmed by reading both states, so blocks rewritten with the
// same bytes drop out. On NTFS volumes the file diff reads only the MFT
// records that lie in changed ranges, and compares file content only where
// a file's clusters were changed. A file whose clusters were written below
// the file system (raw sector writes, its record untouched) is therefore
// not seen, unless Options.Thorough asks for a scan of every MFT record of
// both states for the files whose data lies in changed ranges: a cost that
// follows the size of the MFT. Other filesystems are compared by a full
// walk of both trees, and the result says so in its notes.
package diff
