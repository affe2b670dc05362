package bitlocker

import "encoding/binary"

// Vista leaves the first 16 sectors of the volume in the clear. Its boot
// sector (and the NTFS backup boot sector, the last encrypted sector)
// carry "-FVE-FS-" in place of the OEM id and the metadata cluster in
// place of the MFT mirror's; the original MFT mirror cluster is kept in
// the metadata block. vistaPlain restores such a sector and reports
// whether sec is one that is not decrypted.
func (r *Reader) vistaPlain(sec []byte, at int64) bool {
	last := r.encSize/r.ss - 1
	idx := at / r.ss
	if idx == 0 || (idx == last && last > 0) {
		if string(sec[hdrOEM:hdrOEM+8]) == string(sigFVE) {
			copy(sec[hdrOEM:], "NTFS    ")
			binary.LittleEndian.PutUint64(sec[hdrVistaLCN:], uint64(r.v.md.headerBackup))
		}
		return true
	}
	return idx < 16
}
