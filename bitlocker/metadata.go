package bitlocker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Offsets in an FVE metadata block: a 64-byte block header, then a 48-byte
// metadata header, then the datums.
const (
	blkSize          = 8  // u16: block size (16-byte units in version 2)
	blkVersion       = 10 // u16: 1 Vista, 2 later
	blkCurState      = 12 // u16
	blkNextState     = 14 // u16
	blkEncryptedSize = 16 // u64: bytes encrypted from the start
	blkConvertSize   = 24 // u32
	blkBackupSectors = 28 // u32: sectors relocated from the start
	blkOffsets       = 32 // 3 x u64: the metadata copies
	blkHeaderBackup  = 56 // u64: where the first sectors went (Vista: the MFT mirror cluster)
	mdSize           = 64 // u32: metadata size from this header on
	mdVersion        = 68 // u32
	mdHeaderSize     = 72 // u32 (48)
	mdGUID           = 80 // the volume GUID
	mdNonce          = 96 // u32: next nonce counter
	mdMethod         = 100
	mdCreated        = 104 // FILETIME
	mdEntries        = 112
	areaLen          = 64 << 10 // each metadata copy owns 64 KiB (version 2)
)

// State is the conversion state the metadata records.
type State uint16

// The conversion states BitLocker records.
const (
	StateDecrypted State = 1
	StateSwitching State = 2 // encryption or decryption under way
	StateEOW       State = 3 // encrypt-on-write activated
	StateEncrypted State = 4
	StatePaused    State = 5 // conversion paused
)

func (s State) String() string {
	switch s {
	case StateDecrypted:
		return "decrypted"
	case StateSwitching:
		return "converting"
	case StateEOW:
		return "encrypt-on-write"
	case StateEncrypted:
		return "encrypted"
	case StatePaused:
		return "conversion paused"
	}
	return fmt.Sprintf("state 0x%04x", uint16(s))
}

// Method is the cipher that encrypts the sectors.
type Method uint16

// The encryption methods.
const (
	AESCBC128Elephant Method = 0x8000
	AESCBC256Elephant Method = 0x8001
	AESCBC128         Method = 0x8002
	AESCBC256         Method = 0x8003
	AESXTS128         Method = 0x8004
	AESXTS256         Method = 0x8005
)

func (m Method) String() string {
	switch m {
	case AESCBC128Elephant:
		return "AES-CBC-128 + Elephant diffuser"
	case AESCBC256Elephant:
		return "AES-CBC-256 + Elephant diffuser"
	case AESCBC128:
		return "AES-CBC-128"
	case AESCBC256:
		return "AES-CBC-256"
	case AESXTS128:
		return "AES-XTS-128"
	case AESXTS256:
		return "AES-XTS-256"
	}
	return fmt.Sprintf("method 0x%04x", uint16(m))
}

// keyLen is the length of the key material the FVEK datum must hold.
func (m Method) keyLen() int {
	switch m {
	case AESCBC128:
		return 16
	case AESCBC256, AESXTS128:
		return 32
	case AESXTS256, AESCBC128Elephant, AESCBC256Elephant:
		return 64
	}
	return 0
}

// ProtectorType says what unlocks a volume master key.
type ProtectorType uint16

// The protector types.
const (
	ProtClearKey         ProtectorType = 0x0000
	ProtTPM              ProtectorType = 0x0100
	ProtStartupKey       ProtectorType = 0x0200
	ProtTPMPIN           ProtectorType = 0x0500
	ProtRecoveryPassword ProtectorType = 0x0800
	ProtPassword         ProtectorType = 0x2000
)

func (p ProtectorType) String() string {
	switch p {
	case ProtClearKey:
		return "clear key"
	case ProtTPM:
		return "TPM"
	case ProtStartupKey:
		return "startup key"
	case ProtTPMPIN:
		return "TPM and PIN"
	case ProtRecoveryPassword:
		return "recovery password"
	case ProtPassword:
		return "password"
	}
	return fmt.Sprintf("protector 0x%04x", uint16(p))
}

// Protector is one key protector: one way to the volume master key.
type Protector struct {
	ID       string        // GUID; a startup key file is named after it
	Type     ProtectorType // what unlocks it
	Modified time.Time     // when it was last written
	Name     string        // a label, when the metadata has one
	vmk      datum
}

// metadata is one parsed FVE metadata copy.
type metadata struct {
	version       int
	block         []byte // the block the CRC and the authentication cover
	state, next   State
	encryptedSize int64
	convertSize   int64
	backupSectors int64
	offsets       [3]int64
	headerBackup  int64
	guid          string
	method        Method
	created       time.Time
	description   string
	protectors    []Protector
	fvek          *ccm
	validation    *ccm
	headerOff     int64 // relocated first sectors: where, and how many bytes
	headerLen     int64
	headerFound   bool
}

// areaSize is the span a metadata copy occupies, which reads as zeros.
func areaSize(version, sectorSize int, cluster int64) int64 {
	if version == 1 {
		// Vista: 16 KiB rounded to clusters (as dislocker computes it).
		return (cluster + 0x3fff) &^ (cluster - 1)
	}
	return int64((sectorSize + 0xffff) &^ (sectorSize - 1))
}

// parseBlock parses the metadata copy read at off. b holds the copy's
// whole area (or what of it lies inside the volume).
func parseBlock(b []byte, off int64) (*metadata, error) {
	if len(b) < mdEntries {
		return nil, formatErr(off, "metadata copy cut short at %d bytes", len(b))
	}
	if !bytes.Equal(b[:8], sigFVE) {
		return nil, formatErr(off, "no -FVE-FS- signature on the metadata copy")
	}
	m := &metadata{
		version:       int(binary.LittleEndian.Uint16(b[blkVersion:])),
		state:         State(binary.LittleEndian.Uint16(b[blkCurState:])),
		next:          State(binary.LittleEndian.Uint16(b[blkNextState:])),
		encryptedSize: int64(binary.LittleEndian.Uint64(b[blkEncryptedSize:]) & (1<<62 - 1)),
		convertSize:   int64(binary.LittleEndian.Uint32(b[blkConvertSize:])),
		backupSectors: int64(binary.LittleEndian.Uint32(b[blkBackupSectors:])),
		headerBackup:  int64(binary.LittleEndian.Uint64(b[blkHeaderBackup:]) & (1<<62 - 1)),
		guid:          guidString(b[mdGUID:]),
		method:        Method(binary.LittleEndian.Uint16(b[mdMethod:])),
		created:       filetime(binary.LittleEndian.Uint64(b[mdCreated:])),
	}
	readOffsets(b[blkOffsets:], &m.offsets)
	size := int(binary.LittleEndian.Uint16(b[blkSize:]))
	switch m.version {
	case 1:
	case 2:
		size <<= 4
	default:
		return nil, kindErr(ErrUnsupported, off+blkVersion, "metadata version %d", m.version)
	}
	mdLen := int64(binary.LittleEndian.Uint32(b[mdSize:]))
	if mdLen < mdEntries-mdSize || mdSize+mdLen > int64(len(b)) {
		return nil, formatErr(off+mdSize, "metadata size %d in a %d-byte copy", mdLen, len(b))
	}
	if size < mdSize+int(mdLen) || size+8 > len(b) {
		return nil, formatErr(off+blkSize, "block size %d with %d bytes of metadata", size, mdLen)
	}
	if err := m.checkCRC(b, size, off); err != nil {
		return nil, err
	}
	m.block = b[:size]
	if err := m.parseEntries(b[mdEntries:mdSize+mdLen], off+mdEntries); err != nil {
		return nil, err
	}
	if m.fvek == nil {
		return nil, formatErr(off, "metadata has no full-volume key")
	}
	return m, nil
}

// checkCRC verifies the validation header after the block (Vista's too) and
// keeps its AES-CCM datum, which authenticates the block once the volume
// master key is known.
func (m *metadata) checkCRC(b []byte, size int, off int64) error {
	v := b[size:]
	vlen := int(binary.LittleEndian.Uint16(v))
	if vlen < 8 || binary.LittleEndian.Uint16(v[2:]) > 2 || vlen > len(v) {
		return kindErr(ErrChecksum, off+int64(size), "no validation header after the metadata block")
	}
	want := binary.LittleEndian.Uint32(v[4:])
	if got := crc32.ChecksumIEEE(b[:size]); got != want {
		return kindErr(ErrChecksum, off, "metadata CRC-32 is %08x, the copy says %08x", got, want)
	}
	ds, err := parseDatums(v[8:vlen], off+int64(size)+8)
	if err == nil && len(ds) > 0 && ds[0].vtype == valAESCCM {
		if c, err := ds[0].ccm(); err == nil {
			m.validation = &c
		}
	}
	return nil
}

func (m *metadata) parseEntries(b []byte, off int64) error {
	ds, err := parseDatums(b, off)
	if err != nil {
		return err
	}
	for _, d := range ds {
		switch {
		case d.role == roleDescription && d.vtype == valString && m.description == "":
			m.description = utf16String(d.body)
		case d.role == roleVMK && d.vtype == valVMK:
			p, err := parseVMK(d)
			if err != nil {
				return err
			}
			m.protectors = append(m.protectors, p)
		case d.role == roleFVEK && d.vtype == valAESCCM && m.fvek == nil:
			c, err := d.ccm()
			if err != nil {
				return err
			}
			m.fvek = &c
		case d.role == roleVolumeHeader && d.vtype == valOffsetSize && !m.headerFound:
			if err := d.need(16); err != nil {
				return err
			}
			m.headerOff = int64(binary.LittleEndian.Uint64(d.body) & (1<<62 - 1))
			m.headerLen = int64(binary.LittleEndian.Uint64(d.body[8:]) & (1<<62 - 1))
			m.headerFound = true
		}
	}
	return nil
}

func parseVMK(d datum) (Protector, error) {
	if err := d.need(fixedLen[valVMK]); err != nil {
		return Protector{}, err
	}
	p := Protector{
		ID:       guidString(d.body),
		Modified: filetime(binary.LittleEndian.Uint64(d.body[16:])),
		Type:     ProtectorType(binary.LittleEndian.Uint16(d.body[26:])),
		vmk:      d,
	}
	inner, err := d.nested(1)
	if err != nil {
		return Protector{}, err
	}
	for _, n := range inner {
		if n.vtype == valString && p.Name == "" {
			p.Name = utf16String(n.body)
		}
	}
	return p, nil
}

// readMetadata reads the copies named by the volume header and returns the
// first valid one, its index, and why each copy before it was passed over.
// An I/O error is returned at once: only content errors fall back to the
// next copy.
func (v *Volume) readMetadata(h *volumeHeader) (*metadata, error) {
	offs := h.offsets
	var errs []error
	for i := 0; i < 3; i++ {
		if h.kind == KindVista && i > 0 && offs[i] == 0 {
			break // Vista lists copies 2 and 3 only in copy 1
		}
		m, err := v.readCopy(offs[i], i, h)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				return nil, err
			}
			v.CopyErrors[i] = err
			errs = append(errs, fmt.Errorf("copy %d: %w", i+1, err))
			if i == 0 && h.kind == KindVista {
				break
			}
			continue
		}
		if h.kind == KindVista && i == 0 {
			offs[1], offs[2] = m.offsets[1], m.offsets[2]
		}
		v.MetadataCopy = i
		return m, nil
	}
	if len(errs) == 0 {
		return nil, formatErr(-1, "no metadata copy")
	}
	return nil, fmt.Errorf("no valid metadata copy: %w", errors.Join(errs...))
}

func (v *Volume) readCopy(off int64, i int, h *volumeHeader) (*metadata, error) {
	if off <= 0 || off >= v.size || off%int64(h.sectorSize) != 0 {
		return nil, formatErr(-1, "metadata copy %d at %d lies outside the %d-byte volume or off a sector", i+1, off, v.size)
	}
	n := int64(areaLen)
	if off+n > v.size {
		n = v.size - off
	}
	b := make([]byte, n)
	if _, err := v.r.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("bitlocker: reading metadata copy %d at byte 0x%x: %w", i+1, off, err)
	}
	m, err := parseBlock(b, off)
	if err != nil {
		return nil, err
	}
	if h.kind != KindVista && m.offsets[i] != off {
		return nil, formatErr(off+blkOffsets, "metadata copy %d says it lies at %d", i+1, m.offsets[i])
	}
	return m, nil
}
