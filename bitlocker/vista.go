package bitlocker

import "encoding/binary"

// Vista leaves the first 16 sectors of the volume in the clear. Its boot
// sector (and the NTFS backup boot sector, the last encrypted sector)
// carry "-FVE-FS-" in place of the OEM id and the metadata cluster in
// place of the MFT mirror's; the original MFT mirror cluster is kept in
// the metadata block.

// vistaPlain reports whether the sector at disk offset at is one Vista
// does not encrypt.
func (r *Reader) vistaPlain(at int64) bool {
	idx := at / r.ss
	return idx < 16 || r.vistaBoot(idx)
}

// vistaBoot reports whether sector idx is the boot sector or its backup.
func (r *Reader) vistaBoot(idx int64) bool {
	last := r.encSize/r.ss - 1
	return idx == 0 || (idx == last && last > 0)
}

// vistaRestore restores the boot sector (or its backup) in sec, read from
// disk offset at; other sectors are left alone.
func (r *Reader) vistaRestore(sec []byte, at int64) {
	if r.vistaBoot(at/r.ss) && string(sec[hdrOEM:hdrOEM+8]) == string(sigFVE) {
		copy(sec[hdrOEM:], "NTFS    ")
		binary.LittleEndian.PutUint64(sec[hdrVistaLCN:], uint64(r.v.md.headerBackup))
	}
}
