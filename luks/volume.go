package luks

import (
	"fmt"
	"io"
)

// Volume is a LUKS volume as its header describes it, still locked.
type Volume struct {
	Version int    // 1 or 2
	Header  string // which header was read: "LUKS1", "LUKS2, primary header" or "LUKS2, secondary header"
	UUID    string
	Label   string // LUKS2 only
	// Cipher is the data segment's cipher as cryptsetup names it:
	// "aes-xts-plain64", "aes-cbc-essiv:sha256".
	Cipher   string
	KeySlots []*KeySlot // active key slots, in the order Unlock tries them

	r          io.ReaderAt
	size       int64
	keyBytes   int // LUKS1: the volume key's size (LUKS2: each slot says)
	sectorSize int
	ivTweak    uint64
	dataOff    int64
	dataSize   int64
	digests    []*digest
}

// KeySlot is one active key slot: the volume key, encrypted under a key
// derived from a passphrase.
type KeySlot struct {
	ID       int
	KDF      string // "pbkdf2-sha256", "argon2id", ...
	Priority int    // LUKS2: 0 ignore, 1 normal, 2 high
	// Unusable says why this package cannot open the slot (a token's
	// slot, another splitter); empty when it can.
	Unusable string

	kdf          kdf
	keyBytes     int
	stripes      int
	afHash       string
	areaOff      int64
	areaSize     int64
	areaCipher   string
	areaKeyBytes int
	digest       *digest
}

// digest verifies a candidate volume key: PBKDF2 of the key with its salt
// gives value.
type digest struct {
	hash       string
	iterations int64
	salt       []byte
	value      []byte
}

// NewVolume reads the LUKS header of the volume r of size bytes.
func NewVolume(r io.ReaderAt, size int64) (*Volume, error) {
	if size < luks1HeaderSize {
		return nil, ErrNotLUKS
	}
	h := make([]byte, luks1HeaderSize)
	if _, err := r.ReadAt(h, 0); err != nil {
		return nil, fmt.Errorf("luks: reading the header: %w", err)
	}
	v := &Volume{r: r, size: size}
	switch {
	case string(h[:6]) == string(magic1) && h[6] == 0 && h[7] == 1:
		if err := v.parse1(h); err != nil {
			return nil, err
		}
	case string(h[:6]) == string(magic1) && h[6] == 0 && h[7] == 2,
		string(h[:6]) != string(magic1) && hasSecondary(r, size):
		if err := v.parse2(); err != nil {
			return nil, err
		}
	default:
		return nil, ErrNotLUKS
	}
	if err := checkCipher(v.Cipher); err != nil {
		return nil, err
	}
	return v, nil
}

// hasSecondary reports whether a LUKS2 secondary header lies where one
// would, for a volume whose primary header is gone.
func hasSecondary(r io.ReaderAt, size int64) bool {
	b := make([]byte, 8)
	for _, off := range secondaryOffsets() {
		if off+bin2Size > size {
			return false
		}
		if _, err := r.ReadAt(b, off); err == nil && string(b[:6]) == string(magic2) && b[6] == 0 && b[7] == 2 {
			return true
		}
	}
	return false
}

// DataOffset is where the encrypted data begins in the volume, and
// DataSize how many bytes it holds (whole sectors).
func (v *Volume) DataOffset() int64 { return v.dataOff }

// DataSize is the size of the decrypted volume.
func (v *Volume) DataSize() int64 { return v.dataSize }

// SectorSize is the data segment's encryption sector size.
func (v *Volume) SectorSize() int { return v.sectorSize }
