package catalog

import "bytes"

// Forensic copies are often renamed (evidence.001, disk.img): a file
// whose name does not end in a disk extension is still taken as a disk
// when it is given as the source itself, or when it is the parent a
// child's linkage names, provided its bytes say so. Only those two cases
// look at content; a folder scan goes by extension, so a folder of many
// files is not read file by file.

// looksLikeDisk reports whether name starts with the VHDX signature or
// carries a VHD footer ("conectix" in its last 512 bytes, or its first
// for a fixed disk's copy of the footer).
func looksLikeDisk(src Source, name string) bool {
	f, err := src.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	var sig [8]byte
	at := func(off int64) []byte {
		if off < 0 || off+8 > f.Size() {
			return nil
		}
		if _, err := f.ReadAt(sig[:], off); err != nil {
			return nil
		}
		return sig[:]
	}
	return bytes.Equal(at(0), []byte("vhdxfile")) || bytes.Equal(at(0), []byte("conectix")) ||
		bytes.Equal(at(f.Size()-512), []byte("conectix")) || bytes.Equal(at(f.Size()-511), []byte("conectix"))
}
