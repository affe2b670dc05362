package bitlocker

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"unicode/utf16"
)

// This file builds BitLocker volumes from scratch, as Windows lays them
// out, for tests and fixtures: what the Windows-made samples do not cover
// (256-bit keys, BitLocker To Go, Vista's metadata version 1, a
// conversion stopped half way), seeds for the fuzzer, and volumes with a
// real filesystem inside for the tests of the packages above. dislocker,
// an independent reader, is the oracle for these volumes
// (oracle_test.go). It is the encoder paired with this package's decoder,
// and no way to protect data: every key derives from Seed.

// BuildOptions describe a volume for BuildTestVolume.
type BuildOptions struct {
	Kind       Kind   // KindWindows7, KindToGo or KindVista
	Method     Method // the cipher
	SectorSize int    // 512 or 4096 (Vista: 512)
	// EncryptedSize stops the encryption part way (a conversion paused or
	// running, per State); zero encrypts the whole volume.
	EncryptedSize int64
	State         State // StateEncrypted when zero
	ConvertSize   int64 // recorded in the block header
	// The protectors to add.
	ClearKey         bool
	Password         string // "" for none
	RecoveryPassword bool
	StartupKey       bool
	// MetadataOffsets place the three metadata copies (64 KiB each, 16 KiB
	// on Vista); zero puts them at a quarter, half and three quarters of
	// the volume. They must lie in space the filesystem inside does not
	// use: the decrypted view reads them as zeros.
	MetadataOffsets [3]int64
	Seed            uint64 // keys, salts and nonces derive from it
}

// BuiltVolume is what BuildTestVolume returns.
type BuiltVolume struct {
	Image []byte // the volume as it lies on disk
	// View is what the decrypted volume reads: the plaintext, with the
	// metadata areas (and where the first sectors were moved) as zeros.
	View             []byte
	StartupKeyFile   []byte // the .BEK file, with StartupKey
	RecoveryPassword string // with RecoveryPassword
	block            []byte // metadata copy 1's block
	vmk              []byte
}

func le16(v int) []byte      { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }
func le32(v int) []byte      { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }
func le64(v int64) []byte    { return binary.LittleEndian.AppendUint64(nil, uint64(v)) }
func cat(b ...[]byte) []byte { return bytes.Join(b, nil) }

func utf16z(s string) []byte {
	var out []byte
	for _, c := range utf16.Encode([]rune(s)) {
		out = binary.LittleEndian.AppendUint16(out, c)
	}
	return append(out, 0, 0)
}

// mkDatum builds a datum: size, role, value type, version 1, body.
func mkDatum(role, vtype int, body ...[]byte) []byte {
	b := cat(body...)
	return cat(le16(datumHeaderLen+len(b)), le16(role), le16(vtype), le16(1), b)
}

func mkKeyDatum(method int, key []byte) []byte { return mkDatum(0, valKey, le32(method), key) }

type builder struct {
	rng *rand.Rand
	err error
}

func (b *builder) rnd(n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(b.rng.Uint32())
	}
	return out
}

func (b *builder) ccmDatum(role int, key, plain []byte) []byte {
	var nonce [12]byte
	copy(nonce[:], b.rnd(12))
	c, err := ccmSeal(key, nonce, plain)
	if err != nil {
		b.err = err
		return nil
	}
	return mkDatum(role, valAESCCM, nonce[:], c.tag[:], c.data)
}

const buildTime = 133000000000000000 // a FILETIME in 2022

// BuildTestVolume lays out a BitLocker volume around plain (whose first
// sector should be a filesystem's boot sector) and encrypts it.
func BuildTestVolume(plain []byte, o BuildOptions) (*BuiltVolume, error) {
	ss := int64(o.SectorSize)
	size := int64(len(plain))
	if o.Method.keyLen() == 0 || (ss != 512 && ss != 4096) || size%ss != 0 || size < 1<<20 {
		return nil, fmt.Errorf("bitlocker: cannot build a %v volume of %d bytes with %d-byte sectors", o.Method, size, ss)
	}
	if o.EncryptedSize == 0 {
		o.EncryptedSize = size
	}
	if o.State == 0 {
		o.State = StateEncrypted
	}
	offs := o.MetadataOffsets
	if offs == [3]int64{} {
		q := size / 4 &^ (64<<10 - 1)
		offs = [3]int64{q, 2 * q, 3 * q}
	}
	b := &builder{rng: rand.New(rand.NewPCG(o.Seed, 0xb17))}
	bv := &BuiltVolume{vmk: b.rnd(32)}
	version, area, cluster := 2, int64(areaLen), 8*ss
	if o.Kind == KindVista {
		version, area = 1, areaSize(1, o.SectorSize, cluster)
	}
	hOff, hLen := offs[0]+area, int64(8192)
	for _, off := range offs {
		if off <= 0 || off%cluster != 0 || off+area+hLen > size {
			return nil, errors.New("bitlocker: metadata offsets must be cluster-aligned and inside the volume")
		}
	}

	fvek := b.rnd(o.Method.keyLen())
	if o.Method == AESCBC128Elephant {
		clear(fvek[16:32])
		clear(fvek[48:64])
	}
	ents := b.entries(o, bv, fvek, hOff, hLen, version)
	block := b.block(o, bv, ents, offs, hOff, hLen, version)
	meta := make([]byte, area)
	copy(meta, block)
	sum := sha256.Sum256(block)
	val := b.ccmDatum(0, bv.vmk, cat(le16(44), le16(0), le16(1), le16(1), le16(0x2005), le16(0), sum[:]))
	copy(meta[len(block):], cat(le16(int(area)-len(block)), le16(2), le32(int(crc32.ChecksumIEEE(block))), val))
	if b.err != nil {
		return nil, b.err
	}
	bv.block = block

	c, err := newSectorCipher(o.Method, fvek, o.SectorSize)
	if err != nil {
		return nil, err
	}
	img := bytes.Clone(plain)
	for pos := int64(0); pos < size; pos += ss {
		sec := img[pos : pos+ss]
		if version == 2 && pos >= hOff && pos < hOff+hLen {
			copy(sec, plain[pos-hOff:])
		}
		if version == 1 && pos < 16*ss {
			continue
		}
		if pos < o.EncryptedSize {
			c.encrypt(sec, pos)
		}
	}
	view := bytes.Clone(plain)
	for _, off := range offs {
		copy(img[off:], meta)
		clear(view[off : off+area])
	}
	if version == 2 {
		clear(view[hOff : hOff+hLen])
		if o.State == StateSwitching && o.ConvertSize > 0 {
			clear(view[o.EncryptedSize:min(size, o.EncryptedSize+o.ConvertSize)])
		}
	}
	writeVolumeHeader(img, plain, o, offs, cluster)
	bv.Image, bv.View = img, view
	return bv, nil
}

// entries builds the datums: a description, the protectors, the
// full-volume key and (version 2) where the first sectors went.
func (b *builder) entries(o BuildOptions, bv *BuiltVolume, fvek []byte, hOff, hLen int64, version int) []byte {
	var entries [][]byte
	entries = append(entries, mkDatum(roleDescription, valString, utf16z("CKPTFS-TEST X: 2026-12-06")))
	vmkDatum := func(id []byte, prot ProtectorType, nested ...[]byte) []byte {
		return mkDatum(roleVMK, valVMK, cat(id, le64(buildTime), le16(0), le16(int(prot))), cat(nested...))
	}
	wrapped := mkKeyDatum(0x2000, bv.vmk)
	if o.ClearKey {
		ck := b.rnd(32)
		entries = append(entries, vmkDatum(b.rnd(16), ProtClearKey, mkKeyDatum(0x2000, ck), b.ccmDatum(0, ck, wrapped)))
	}
	if o.Password != "" {
		salt := b.rnd(16)
		k := Password(o.Password)
		s := stretch(k.secret, salt)
		entries = append(entries, vmkDatum(b.rnd(16), ProtPassword, mkDatum(0, valStretchKey, le32(0x1001), salt), b.ccmDatum(0, s[:], wrapped)))
	}
	if o.RecoveryPassword {
		var g [8]int
		for i := range g {
			g[i] = 11 * b.rng.IntN(65536)
		}
		bv.RecoveryPassword = fmt.Sprintf("%06d-%06d-%06d-%06d-%06d-%06d-%06d-%06d", g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7])
		k, err := RecoveryPassword(bv.RecoveryPassword)
		if err != nil {
			b.err = err
		}
		salt := b.rnd(16)
		s := stretch(k.secret, salt)
		entries = append(entries, vmkDatum(b.rnd(16), ProtRecoveryPassword, mkDatum(0, valStretchKey, le32(0x1000), salt), b.ccmDatum(0, s[:], wrapped)))
	}
	if o.StartupKey {
		ext, id := b.rnd(32), b.rnd(16)
		entries = append(entries, vmkDatum(id, ProtStartupKey, mkDatum(0, valString, utf16z("ExternalKey")), b.ccmDatum(0, ext, wrapped)))
		body := mkDatum(roleStartupKey, valExternalKey, id, le64(buildTime),
			mkDatum(0, valString, utf16z("ExternalKey")), mkKeyDatum(0x2002, ext))
		n := bekHeaderLen + len(body)
		bv.StartupKeyFile = cat(le32(n), le32(1), le32(bekHeaderLen), le32(n), id, le32(1), le16(0), le16(0), le64(buildTime), body)
	}
	entries = append(entries, b.ccmDatum(roleFVEK, bv.vmk, mkKeyDatum(int(o.Method), fvek)))
	if version == 2 {
		entries = append(entries, mkDatum(roleVolumeHeader, valOffsetSize, le64(hOff), le64(hLen)))
	}
	return cat(entries...)
}

// block builds the metadata block: block header, metadata header, datums.
func (b *builder) block(o BuildOptions, bv *BuiltVolume, ents []byte, offs [3]int64, hOff, hLen int64, version int) []byte {
	guid := b.rnd(16)
	mdh := cat(le32(48+len(ents)), le32(1), le32(48), le32(48+len(ents)), guid, le32(7), le16(int(o.Method)), le16(0), le64(buildTime))
	blkLen := 64 + len(mdh) + len(ents)
	sizeField := blkLen
	if version == 2 {
		blkLen = (blkLen + 15) &^ 15
		sizeField = blkLen / 16
	}
	backup := hOff
	if version == 1 {
		backup = vistaMFTMirror
	}
	hdr := cat(sigFVE, le16(sizeField), le16(version), le16(int(o.State)), le16(int(o.State)),
		le64(o.EncryptedSize), le32(int(o.ConvertSize)), le32(int(hLen/int64(o.SectorSize))),
		le64(offs[0]), le64(offs[1]), le64(offs[2]), le64(backup))
	block := make([]byte, blkLen)
	copy(block, cat(hdr, mdh, ents))
	return block
}

// vistaMFTMirror is the MFT mirror cluster a Vista volume's boot sector
// must name; BuildTestVolume keeps it in the metadata as Vista does.
const vistaMFTMirror = 0x1234

// writeVolumeHeader writes sector 0 as BitLocker leaves it.
func writeVolumeHeader(img, plain []byte, o BuildOptions, offs [3]int64, cluster int64) {
	ss := int64(o.SectorSize)
	vh := img[:ss]
	switch o.Kind {
	case KindVista:
		// The NTFS boot sector, OEM id and MFT mirror field replaced; the
		// backup boot sector at the end likewise.
		copy(vh, plain[:ss])
		copy(vh[hdrOEM:], sigFVE)
		binary.LittleEndian.PutUint64(vh[hdrVistaLCN:], uint64(offs[0]/cluster))
		last := (o.EncryptedSize/ss - 1) * ss
		copy(img[last:last+ss], vh)
	case KindWindows7:
		clear(vh)
		copy(vh, "\xeb\x58\x90-FVE-FS-")
		copy(vh[hdrGUID:], guidNormal)
		for i, off := range offs {
			binary.LittleEndian.PutUint64(vh[hdrOffsets+8*i:], uint64(off))
		}
	case KindToGo:
		clear(vh)
		copy(vh, "\xeb\x58\x90MSWIN4.1")
		copy(vh[hdrToGoGUID:], guidNormal)
		for i, off := range offs {
			binary.LittleEndian.PutUint64(vh[hdrToGoOffs+8*i:], uint64(off))
		}
	}
	binary.LittleEndian.PutUint16(vh[hdrSectorSize:], uint16(ss))
	vh[hdrCluster] = 8
	vh[510], vh[511] = 0x55, 0xaa
}
