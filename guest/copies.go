package guest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"

	"github.com/ckptfs/ckptfs/ldm"
)

// Redundant copies. The structures that say where everything lies are
// kept twice or more: the GPT's header and entry array (a backup at the
// disk's end, the MBR in front a protective copy of its extent), an LVM
// physical volume's metadata areas (pvcreate --metadatacopies 2 adds one
// at its end) and the checksums guarding them, a dynamic disk's PRIVHEAD
// and TOCBLOCK copies. Reading takes the first good copy and says nothing
// of the others, so a damaged or differing one would go unseen: check
// lists them, since a copy that disagrees is a sign of damage or
// tampering even when it changes nothing read.

// CopyProblem is a redundant copy of a disk structure that is damaged or
// disagrees with the copy that is read: Off is its byte offset in the disk.
type CopyProblem struct {
	Off  int64
	What string
}

// CheckCopies lists the redundant copies on the disk (size bytes) that
// are damaged or disagree with the copy read (see above).
func CheckCopies(disk io.ReaderAt, size int64) (out []CopyProblem) {
	defer func() {
		if p := recover(); p != nil {
			out = append(out, CopyProblem{-1, fmt.Sprintf("internal error (recovered panic) while checking copies: %v", p)})
		}
	}()
	if size < 0 {
		return nil
	}
	out = gptCopies(disk, size)
	l, err := readLayout(disk, size)
	if err != nil {
		return out
	}
	for _, w := range volumeWindows(l, size) {
		for _, p := range lvmCopies(io.NewSectionReader(disk, w[0], w[1]), w[1]) {
			out = append(out, CopyProblem{w[0] + p.Off, p.What})
		}
	}
	if d, err := ldm.NewDisk(disk, size); err == nil {
		for _, p := range d.CheckCopies() {
			out = append(out, CopyProblem{p.Off, "LDM " + p.What})
		}
	}
	return out
}

// gptCopies compares the backup GPT with the primary, and checks that
// the MBR protects the GPT (a hybrid MBR, or none, lets tools that read
// the MBR see other partitions than the GPT lists).
func gptCopies(disk io.ReaderAt, size int64) []CopyProblem {
	for _, ss := range []int64{512, 4096} {
		if size < 3*ss {
			continue
		}
		primary := make([]byte, ss)
		if readFull(disk, size, primary, ss) != nil {
			continue
		}
		// The primary names where its backup is (a disk grown since
		// leaves it short of the end); without one, the last sector.
		backupLBA := size/ss - 1
		if hasGPTSignature(primary) {
			if alt := int64(binary.LittleEndian.Uint64(primary[32:40])); alt > 1 && alt < size/ss {
				backupLBA = alt
			}
		}
		backup := make([]byte, ss)
		if readFull(disk, size, backup, backupLBA*ss) != nil || !hasGPTSignature(primary) && !hasGPTSignature(backup) {
			continue
		}
		var out []CopyProblem
		pParts, errP := gptFromHeader(disk, size, ss, primary)
		bParts, errB := gptFromHeader(disk, size, ss, backup)
		switch {
		case errP != nil && errB != nil:
			// Reading fails: the volumes say so.
		case errP != nil:
			out = append(out, CopyProblem{ss, fmt.Sprintf("primary GPT damaged (the backup at byte %d is read): %s", backupLBA*ss, faultOf(errP))})
		case errB != nil:
			out = append(out, CopyProblem{backupLBA * ss, "backup GPT damaged: " + faultOf(errB)})
		case !slices.EqualFunc(pParts, bParts, samePartition):
			out = append(out, CopyProblem{backupLBA * ss, "backup GPT lists other partitions than the primary (which is read)"})
		}
		return append(out, protectiveMBR(disk, size)...)
	}
	return nil
}

// faultOf is err without the offset a FormatError adds: gptFromHeader
// reads every header copy as if it were at LBA 1, so its offsets are
// those of the primary; the problem's own offset says where the copy is.
func faultOf(err error) string {
	var fe *FormatError
	if errors.As(err, &fe) {
		return fe.What
	}
	return err.Error()
}

func samePartition(a, b partition) bool {
	return a.number == b.number && a.start == b.start && a.size == b.size && a.ptype == b.ptype &&
		a.name == b.name && a.guid == b.guid && (a.err == nil) == (b.err == nil)
}

// protectiveMBR checks sector 0 of a GPT disk: a 0xEE entry and no other.
func protectiveMBR(disk io.ReaderAt, size int64) []CopyProblem {
	sec0 := make([]byte, mbrSectorSize)
	if readFull(disk, size, sec0, 0) != nil {
		return nil
	}
	if !bytes.Equal(sec0[510:512], []byte{0x55, 0xaa}) {
		return []CopyProblem{{510, "no protective MBR in front of the GPT (sector 0 lacks its 55 AA signature)"}}
	}
	protective := false
	var others []string
	for i := range 4 {
		switch t := sec0[446+16*i+4]; t {
		case 0:
		case 0xee:
			protective = true
		default:
			others = append(others, fmt.Sprintf("entry %d of type 0x%02x", i+1, t))
		}
	}
	switch {
	case !protective:
		return []CopyProblem{{446, "the MBR has no protective (0xEE) entry: it does not match the GPT"}}
	case len(others) > 0:
		return []CopyProblem{{446, fmt.Sprintf("hybrid MBR: %v beside the protective entry; tools reading the MBR see other partitions than the GPT lists", others)}}
	}
	return nil
}

// lvmCRC is LVM's checksum: CRC-32 (IEEE polynomial, reflected) started
// from 0xf597a6cf, without the usual inversions.
func lvmCRC(b []byte) uint32 { return ^crc32.Update(^uint32(0xf597a6cf), crc32.IEEETable, b) }

// lvmCopies checks every metadata area of the physical volume in r (if
// it is one): each header's and text's checksum, and that each holds the
// text of the first that reads (the one used).
func lvmCopies(r io.ReaderAt, size int64) []CopyProblem {
	probe := readProbe(r, size)
	if !hasLVMLabel(probe) {
		return nil
	}
	_, mdas, err := lvmLabel(probe)
	if err != nil {
		return nil
	}
	var out []CopyProblem
	var used []byte
	var usedAt int64
	for i, m := range mdas {
		what := fmt.Sprintf("LVM metadata area %d of %d", i+1, len(mdas))
		text, err := lvmMetadataText(r, size, m[0], m[1])
		if err == nil {
			_, err = parseLVMConfig(text)
		}
		if err != nil {
			out = append(out, CopyProblem{m[0], fmt.Sprintf("%s damaged: %v", what, err)})
			continue
		}
		out = append(out, lvmChecksums(r, size, m[0], m[1], what)...)
		switch {
		case used == nil:
			used, usedAt = text, m[0]
		case !bytes.Equal(text, used):
			out = append(out, CopyProblem{m[0], fmt.Sprintf("%s holds other metadata than the area at byte %d (which is read)", what, usedAt)})
		}
	}
	return out
}

// lvmChecksums checks a metadata area's header checksum and its current
// text's (lvmMetadataText has checked the sizes).
func lvmChecksums(r io.ReaderAt, size, mdaOff, mdaSize int64, what string) []CopyProblem {
	h := make([]byte, lvmSector)
	if readFull(r, size, h, mdaOff) != nil {
		return nil
	}
	var out []CopyProblem
	if got := lvmCRC(h[4:]); got != binary.LittleEndian.Uint32(h) {
		out = append(out, CopyProblem{mdaOff, fmt.Sprintf("%s: header checksum 0x%08x, its bytes give 0x%08x", what, binary.LittleEndian.Uint32(h), got)})
	}
	locOff, locSize := int64(binary.LittleEndian.Uint64(h[40:])), int64(binary.LittleEndian.Uint64(h[48:]))
	text := make([]byte, locSize)
	first := min(locSize, mdaSize-locOff)
	if readFull(r, size, text[:first], mdaOff+locOff) != nil || readFull(r, size, text[first:], mdaOff+lvmSector) != nil {
		return out
	}
	if got, want := lvmCRC(text), binary.LittleEndian.Uint32(h[56:]); got != want {
		out = append(out, CopyProblem{mdaOff + locOff, fmt.Sprintf("%s: metadata text checksum 0x%08x, its bytes give 0x%08x", what, want, got)})
	}
	return out
}
