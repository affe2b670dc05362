package luks

import (
	"crypto/subtle"
	"errors"
	"fmt"
)

// Unlock tries each passphrase on each usable key slot, in the slots'
// order, and returns the decrypted volume for the first that opens one.
// A passphrase that opens no slot gives ErrWrongKey; the error never
// contains a passphrase or key. Each try costs one key derivation, which
// the volume's creator tuned to take about a second or two.
func (v *Volume) Unlock(passphrases ...[]byte) (*Reader, error) {
	var firstErr error
	for _, pass := range passphrases {
		for _, ks := range v.KeySlots {
			if ks.Unusable != "" {
				continue
			}
			key, err := v.openSlot(ks, pass)
			if err != nil {
				if firstErr == nil && !errors.Is(err, ErrWrongKey) {
					firstErr = fmt.Errorf("key slot %d: %w", ks.ID, err)
				}
				continue
			}
			return v.newReader(key, ks.ID)
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	usable := 0
	for _, ks := range v.KeySlots {
		if ks.Unusable == "" {
			usable++
		}
	}
	if usable == 0 {
		return nil, unsupported("luks: no key slot this package can open (%d active)", len(v.KeySlots))
	}
	return nil, fmt.Errorf("%w (tried %s on %s)", ErrWrongKey, count(len(passphrases), "passphrase"), count(usable, "key slot"))
}

// count says "1 key slot", "2 key slots".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// UnlockKey opens the volume with its volume key, as a Reader of this or
// another copy of the volume gave it (VolumeKey): no key derivation, only
// the digest check. A key that is not the volume's gives ErrWrongKey.
func (v *Volume) UnlockKey(key []byte) (*Reader, error) {
	for _, d := range v.digests {
		ok, err := d.check(key)
		if err != nil {
			return nil, err
		}
		if ok {
			return v.newReader(key, -1)
		}
	}
	return nil, ErrWrongKey
}

// openSlot derives the slot's key from pass, decrypts and merges its key
// material and checks the result against the slot's digest.
func (v *Volume) openSlot(ks *KeySlot, pass []byte) ([]byte, error) {
	h := newHash(ks.afHash)
	if h == nil {
		return nil, unsupported("luks: splitter hash %q", ks.afHash)
	}
	areaKey, err := ks.kdf.derive(pass, ks.areaKeyBytes)
	if err != nil {
		return nil, err
	}
	c, err := newSectorCipher(ks.areaCipher, areaKey)
	if err != nil {
		return nil, err
	}
	material := make([]byte, roundUp(int64(ks.keyBytes)*int64(ks.stripes), sectorSize))
	if _, err := v.r.ReadAt(material, ks.areaOff); err != nil {
		return nil, fmt.Errorf("luks: reading key material at byte 0x%x: %w", ks.areaOff, err)
	}
	// The key material is encrypted in 512-byte sectors numbered from
	// the start of the area.
	for i := 0; i < len(material); i += sectorSize {
		c.decrypt(material[i:i+sectorSize], uint64(i/sectorSize))
	}
	key := afMerge(material, ks.keyBytes, ks.stripes, h)
	ok, err := ks.digest.check(key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrWrongKey
	}
	return key, nil
}

func constantEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
