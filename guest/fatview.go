package guest

import (
	"encoding/binary"
	"io"
)

// twoFATView shows go-diskfs a FAT volume whose BPB counts one FAT, or
// more than two, as the volume with exactly two FATs that go-diskfs
// assumes: its FAT12, FAT16 and FAT32 readers all place the root
// directory and the data area right after a second FAT, whatever the FAT
// count says, and so read a one-FAT volume's directories from the wrong
// sectors (mkfs.fat -f 1; found by the cross-check, FAT16 seed 2: the
// root listed file contents as names). The view keeps the boot sectors
// and the first FAT where they are, shows the first FAT again as the
// second, and then the volume from its own second FAT's end on; its boot
// sector counts two FATs and the total sectors changed by as many.
//
// Only go-diskfs reads through the view (the directory tree): file data
// and the FAT chains are read from the volume itself (loadFAT, fatData),
// with the layout the BPB gives.
type twoFATView struct {
	r      io.ReaderAt
	size   int64 // of the view
	boot   []byte
	fatOff int64 // where the first FAT starts
	fatLen int64 // bytes per FAT
	shift  int64 // volume offset - view offset past the second FAT
}

// newTwoFATView returns r itself when the BPB counts two FATs. boot is the
// volume's first sector (at least 512 bytes). ok is false when the
// patched total sector count does not fit the BPB.
func newTwoFATView(r io.ReaderAt, size int64, boot []byte) (io.ReaderAt, int64, bool) {
	p := parseBPB(boot)
	if p.fats == 2 || p.fats == 0 {
		return r, size, true
	}
	fatLen := int64(p.fatSectors) * int64(p.bytesPerSector)
	v := &twoFATView{
		r:      r,
		boot:   append([]byte(nil), boot[:512]...),
		fatOff: int64(p.reserved) * int64(p.bytesPerSector),
		fatLen: fatLen,
		shift:  (int64(p.fats) - 2) * fatLen,
	}
	v.size = size - v.shift
	total := int64(p.totalSectors) - (int64(p.fats)-2)*int64(p.fatSectors)
	if total <= 0 || total > 0xffffffff {
		return nil, 0, false
	}
	v.boot[16] = 2
	if binary.LittleEndian.Uint16(v.boot[19:]) != 0 && total <= 0xffff {
		binary.LittleEndian.PutUint16(v.boot[19:], uint16(total))
	} else {
		binary.LittleEndian.PutUint16(v.boot[19:], 0)
		binary.LittleEndian.PutUint32(v.boot[32:], uint32(total))
	}
	return v, v.size, true
}

// ReadAt maps each part of p to the volume: the boot sector patched, the
// second FAT to the first, the rest shifted.
func (v *twoFATView) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= v.size {
			return n, io.EOF
		}
		src, end := at, v.size
		switch first, second := v.fatOff+v.fatLen, v.fatOff+2*v.fatLen; {
		case at < first:
			end = first
		case at < second:
			src, end = at-v.fatLen, second
		default:
			src = at + v.shift
		}
		chunk := p[n:min(int64(len(p)), int64(n)+end-at)]
		m, err := v.r.ReadAt(chunk, src)
		if at < int64(len(v.boot)) {
			copy(chunk[:m], v.boot[at:])
		}
		n += m
		if err != nil && (err != io.EOF || m < len(chunk)) {
			return n, err
		}
	}
	return n, nil
}
