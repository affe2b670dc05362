package ntfs

import "encoding/binary"

// fixupStride is the span covered by one update sequence entry. NTFS uses
// 512 bytes whatever the device's sector size.
const fixupStride = 512

// applyFixups checks and undoes the update sequence of a multi-sector
// record (MFT "FILE" or index "INDX") in place. off is the record's byte
// offset in the volume, for error messages. Every stride, the last one
// included, must end with the sequence number; otherwise the record was
// torn and is rejected with ErrFixup.
func applyFixups(b []byte, off int64) error {
	if len(b) < fixupStride || len(b)%fixupStride != 0 {
		return formatErr(off, "record size %d is not a multiple of %d", len(b), fixupStride)
	}
	usaOff := int(binary.LittleEndian.Uint16(b[4:]))
	usaCount := int(binary.LittleEndian.Uint16(b[6:]))
	strides := len(b) / fixupStride
	if usaCount != strides+1 {
		return kindErr(ErrFixup, off+6, "update sequence has %d entries for %d sectors", usaCount, strides)
	}
	if usaOff < 8 || usaOff%2 != 0 || usaOff+2*usaCount > fixupStride-2 {
		return kindErr(ErrFixup, off+4, "update sequence offset %d", usaOff)
	}
	usn := binary.LittleEndian.Uint16(b[usaOff:])
	for i := 0; i < strides; i++ {
		end := (i+1)*fixupStride - 2
		if binary.LittleEndian.Uint16(b[end:]) != usn {
			return kindErr(ErrFixup, off+int64(end), "sector %d of the record does not end with update sequence number %#x", i, usn)
		}
		copy(b[end:end+2], b[usaOff+2+2*i:])
	}
	return nil
}

// protectRecord is the inverse of applyFixups: it saves the last two bytes
// of every stride into the update sequence array and stamps the sequence
// number there instead. Tests use it to build and corrupt records.
func protectRecord(b []byte) {
	usaOff := int(binary.LittleEndian.Uint16(b[4:]))
	usn := binary.LittleEndian.Uint16(b[usaOff:])
	for i := 0; i < len(b)/fixupStride; i++ {
		end := (i+1)*fixupStride - 2
		copy(b[usaOff+2+2*i:], b[end:end+2])
		binary.LittleEndian.PutUint16(b[end:], usn)
	}
}
