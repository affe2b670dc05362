package bitlocker

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"
	"unicode/utf16"
)

// This file builds BitLocker volumes from scratch, as Windows lays them
// out, for what the Windows-made samples do not cover: 256-bit keys,
// BitLocker To Go, Vista's metadata version 1, a conversion stopped half
// way, and metadata seeds for the fuzzer. dislocker, an independent
// reader, is the oracle for these volumes (dislocker_test.go).

type volSpec struct {
	kind       Kind
	method     Method
	sectorSize int
	size       int64 // bytes; 4 MiB when zero
	encrypted  int64 // EncryptedSize; the whole volume when zero
	state      State // StateEncrypted when zero
	convert    int64 // convert size recorded in the block header
	clearKey   bool
	password   string
	recovery   bool // add a recovery password protector
	startup    bool // add a startup key protector (and its .BEK)
	seed       uint64
}

type builtVol struct {
	spec     volSpec
	img      []byte // the volume as it lies on disk
	want     []byte // what the decrypted view must read
	bek      []byte // the startup key file, when spec.startup
	recovery string
	vmk      []byte
	fvek     []byte
	offsets  [3]int64
	block    []byte // metadata copy 1's block, a fuzz seed
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

func mkCCMDatum(t testing.TB, rng *rand.Rand, role int, key, plain []byte) []byte {
	var nonce [12]byte
	fill(rng, nonce[:])
	c, err := ccmSeal(key, nonce, plain)
	if err != nil {
		t.Fatal(err)
	}
	return mkDatum(role, valAESCCM, nonce[:], c.tag[:], c.data)
}

func rnd(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	fill(rng, b)
	return b
}

// buildVolume lays out a volume of spec. Metadata copies lie at 1, 2 and
// 3 MiB of a 4 MiB volume; on Windows 7+ the first sectors move to just
// after copy 1, as Windows puts them.
func buildVolume(t testing.TB, spec volSpec) *builtVol {
	t.Helper()
	if spec.size == 0 {
		spec.size = 4 << 20
	}
	if spec.encrypted == 0 {
		spec.encrypted = spec.size
	}
	if spec.state == 0 {
		spec.state = StateEncrypted
	}
	rng := rand.New(rand.NewPCG(spec.seed, 99))
	ss := int64(spec.sectorSize)
	bv := &builtVol{spec: spec, vmk: rnd(rng, 32), offsets: [3]int64{1 << 20, 2 << 20, 3 << 20}}
	version := 2
	area := int64(areaLen)
	cluster := int64(8 * ss)
	if spec.kind == KindVista {
		version = 1
		area = areaSize(1, spec.sectorSize, cluster)
	}
	hOff, hLen := bv.offsets[0]+area, int64(8192)

	// The full-volume key in the layout the method stores.
	kl := spec.method.keyLen()
	bv.fvek = rnd(rng, kl)
	if spec.method == AESCBC128Elephant {
		clear(bv.fvek[16:32])
		clear(bv.fvek[48:64])
	}

	// The plaintext: an NTFS-like boot sector, then noise.
	plain := rnd(rng, int(spec.size))
	copy(plain, "\xeb\x52\x90NTFS    ")
	clear(plain[0x0b:0x40])
	binary.LittleEndian.PutUint16(plain[hdrSectorSize:], uint16(ss))
	plain[hdrCluster] = 8
	plain[0x15] = 0xf8
	binary.LittleEndian.PutUint64(plain[0x28:], uint64(spec.size/ss-1)) // sectors, backup boot sector excluded
	binary.LittleEndian.PutUint64(plain[0x30:], 4)
	plain[510], plain[511] = 0x55, 0xaa
	mftMirror := int64(0x1234)
	binary.LittleEndian.PutUint64(plain[hdrVistaLCN:], uint64(mftMirror))
	if version == 1 {
		last := (spec.encrypted/ss - 1) * ss
		copy(plain[last:last+ss], plain[:ss]) // NTFS's backup boot sector
	}

	// Protectors.
	var entries [][]byte
	entries = append(entries, mkDatum(roleDescription, valString, utf16z("SYNTH X: 2026-12-06")))
	vmkDatum := func(prot int, nested ...[]byte) []byte {
		return mkDatum(roleVMK, valVMK, cat(rnd(rng, 16), le64(133000000000000000), le16(0), le16(prot)), cat(nested...))
	}
	wrapped := mkKeyDatum(0x2000, bv.vmk)
	if spec.clearKey {
		ck := rnd(rng, 32)
		entries = append(entries, vmkDatum(int(ProtClearKey), mkKeyDatum(0x2000, ck), mkCCMDatum(t, rng, 0, ck, wrapped)))
	}
	if spec.password != "" {
		salt := rnd(rng, 16)
		k := Password(spec.password)
		s := stretch(k.secret, salt)
		entries = append(entries, vmkDatum(int(ProtPassword), mkDatum(0, valStretchKey, le32(0x1001), salt), mkCCMDatum(t, rng, 0, s[:], wrapped)))
	}
	if spec.recovery {
		var groups []string
		for i := 0; i < 8; i++ {
			groups = append(groups, fmt.Sprintf("%06d", 11*rng.IntN(65536)))
		}
		bv.recovery = fmt.Sprint(groups[0], "-", groups[1], "-", groups[2], "-", groups[3], "-", groups[4], "-", groups[5], "-", groups[6], "-", groups[7])
		k, err := RecoveryPassword(bv.recovery)
		if err != nil {
			t.Fatal(err)
		}
		salt := rnd(rng, 16)
		s := stretch(k.secret, salt)
		entries = append(entries, vmkDatum(int(ProtRecoveryPassword), mkDatum(0, valStretchKey, le32(0x1000), salt), mkCCMDatum(t, rng, 0, s[:], wrapped)))
	}
	if spec.startup {
		ext, id := rnd(rng, 32), rnd(rng, 16)
		v := mkDatum(roleVMK, valVMK, cat(id, le64(133000000000000000), le16(0), le16(int(ProtStartupKey))),
			mkDatum(0, valString, utf16z("ExternalKey")), mkCCMDatum(t, rng, 0, ext, wrapped))
		entries = append(entries, v)
		body := mkDatum(roleStartupKey, valExternalKey, id, le64(133000000000000000),
			mkDatum(0, valString, utf16z("ExternalKey")), mkKeyDatum(0x2002, ext))
		n := bekHeaderLen + len(body)
		bv.bek = cat(le32(n), le32(1), le32(bekHeaderLen), le32(n), id, le32(1), le16(0), le16(0), le64(133000000000000000), body)
	}
	entries = append(entries, mkCCMDatum(t, rng, roleFVEK, bv.vmk, mkKeyDatum(int(spec.method), bv.fvek)))
	if version == 2 {
		entries = append(entries, mkDatum(roleVolumeHeader, valOffsetSize, le64(hOff), le64(hLen)))
	}
	ents := cat(entries...)

	// One metadata block, identical in the three copies but for nothing:
	// every copy lists all three offsets.
	guid := rnd(rng, 16)
	mdh := cat(le32(48+len(ents)), le32(1), le32(48), le32(48+len(ents)), guid, le32(7), le16(int(spec.method)), le16(0), le64(133000000000000000))
	blkLen := 64 + len(mdh) + len(ents)
	sizeField := blkLen
	if version == 2 {
		blkLen = (blkLen + 15) &^ 15
		sizeField = blkLen / 16
	}
	backup := hOff
	if version == 1 {
		backup = mftMirror
	}
	hdr := cat([]byte("-FVE-FS-"), le16(sizeField), le16(version), le16(int(spec.state)), le16(int(spec.state)),
		le64(spec.encrypted), le32(int(spec.convert)), le32(int(hLen/ss)),
		le64(bv.offsets[0]), le64(bv.offsets[1]), le64(bv.offsets[2]), le64(backup))
	block := make([]byte, blkLen)
	copy(block, cat(hdr, mdh, ents))
	bv.block = block
	meta := make([]byte, area)
	copy(meta, block)
	sum := sha256.Sum256(block)
	val := mkCCMDatum(t, rng, 0, bv.vmk, cat(le16(44), le16(0), le16(1), le16(1), le16(0x2005), le16(0), sum[:]))
	copy(meta[blkLen:], cat(le16(int(area)-blkLen), le16(2), le32(int(crc32.ChecksumIEEE(block))), val))

	// The image, sector by sector.
	c, err := newSectorCipher(spec.method, bv.fvek, spec.sectorSize)
	if err != nil {
		t.Fatal(err)
	}
	img := bytes.Clone(plain)
	for pos := int64(0); pos < spec.size; pos += ss {
		sec := img[pos : pos+ss]
		if version == 2 && pos >= hOff && pos < hOff+hLen {
			copy(sec, plain[pos-hOff:])
		}
		if version == 1 && pos < 16*ss {
			continue
		}
		if pos < spec.encrypted {
			c.encrypt(sec, pos)
		}
	}
	want := bytes.Clone(plain)
	for _, off := range bv.offsets {
		copy(img[off:], meta)
		clear(want[off : off+area])
	}
	if version == 2 {
		clear(want[hOff : hOff+hLen])
		if spec.state == StateSwitching && spec.convert > 0 {
			clear(want[spec.encrypted : spec.encrypted+spec.convert])
		}
	}
	// Sector 0: the BitLocker volume header.
	vh := img[:ss]
	switch spec.kind {
	case KindVista:
		copy(vh, plain[:ss])
		copy(vh[hdrOEM:], sigFVE)
		binary.LittleEndian.PutUint64(vh[hdrVistaLCN:], uint64(bv.offsets[0]/cluster))
		last := (spec.encrypted/ss - 1) * ss
		copy(img[last:last+ss], vh)
	case KindWindows7:
		clear(vh)
		copy(vh, "\xeb\x58\x90-FVE-FS-")
		copy(vh[hdrGUID:], guidNormal)
		for i, o := range bv.offsets {
			binary.LittleEndian.PutUint64(vh[hdrOffsets+8*i:], uint64(o))
		}
	case KindToGo:
		clear(vh)
		copy(vh, "\xeb\x58\x90MSWIN4.1")
		copy(vh[hdrToGoGUID:], guidNormal)
		for i, o := range bv.offsets {
			binary.LittleEndian.PutUint64(vh[hdrToGoOffs+8*i:], uint64(o))
		}
	}
	binary.LittleEndian.PutUint16(vh[hdrSectorSize:], uint16(ss))
	vh[hdrCluster] = 8
	vh[510], vh[511] = 0x55, 0xaa
	bv.img, bv.want = img, want
	return bv
}

func (bv *builtVol) keys(t testing.TB) map[string]Key {
	t.Helper()
	keys := map[string]Key{}
	if bv.spec.clearKey {
		keys["clear key"] = Key{}
	}
	if bv.spec.password != "" {
		keys["password"] = Password(bv.spec.password)
	}
	if bv.recovery != "" {
		k, err := RecoveryPassword(bv.recovery)
		if err != nil {
			t.Fatal(err)
		}
		keys["recovery password"] = k
	}
	if bv.bek != nil {
		k, err := StartupKey(bv.bek)
		if err != nil {
			t.Fatal(err)
		}
		keys["startup key"] = k
	}
	return keys
}
