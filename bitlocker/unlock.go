package bitlocker

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Unlock finds the volume master key with the first key that fits a
// protector (a clear key, when the volume has one, needs no key at all),
// checks the metadata against it, decrypts the full-volume key, and
// returns a Reader of the decrypted volume. Each key is tried on every
// protector of its type. When none fits, the error wraps ErrWrongKey and
// lists the protector types, never a key.
func (v *Volume) Unlock(keys ...Key) (*Reader, error) {
	var tagErrs int
	for _, p := range v.Protectors {
		vmk, err := v.openProtector(p, keys)
		if errors.Is(err, errTag) {
			tagErrs++
			continue
		}
		if err != nil {
			return nil, err
		}
		if vmk == nil {
			continue
		}
		r, err := v.withVMK(vmk, p)
		clear(vmk)
		return r, err
	}
	what := fmt.Sprintf("none of the %d keys given fits", len(keys))
	switch len(keys) {
	case 0:
		what = "no key given"
	case 1:
		what = "the key given does not fit"
	}
	return nil, fmt.Errorf("%w: %s (protectors: %s)", ErrWrongKey, what, v.ProtectorTypes())
}

// openProtector returns the volume master key if one of keys (or the clear
// key) opens p, nil if none applies, errTag if keys applied but failed.
func (v *Volume) openProtector(p Protector, keys []Key) ([]byte, error) {
	inner, err := p.vmk.nested(1)
	if err != nil {
		return nil, err
	}
	var enc *ccm
	var salt, clearKey []byte
	for _, d := range inner {
		switch d.vtype {
		case valAESCCM:
			if enc == nil {
				c, err := d.ccm()
				if err != nil {
					return nil, err
				}
				enc = &c
			}
		case valStretchKey:
			if err := d.need(20); err != nil {
				return nil, err
			}
			salt = d.body[4:20]
		case valKey:
			if err := d.need(4 + 1); err != nil {
				return nil, err
			}
			clearKey = d.body[4:]
		}
	}
	if enc == nil {
		return nil, nil // nothing to open (a TPM-only protector keeps it elsewhere)
	}
	failed := false
	try := func(k []byte) ([]byte, error) {
		vmk, err := openKeyDatum(k, enc, p.vmk.off, 32)
		if errors.Is(err, errTag) {
			failed = true
			return nil, nil
		}
		return vmk, err
	}
	switch p.Type {
	case ProtClearKey:
		if clearKey != nil {
			return try(clearKey)
		}
	case ProtPassword, ProtRecoveryPassword:
		if salt == nil {
			return nil, formatErr(p.vmk.off, "protector %s has no salt", p.ID)
		}
		want := kindPassword
		if p.Type == ProtRecoveryPassword {
			want = kindRecovery
		}
		for _, k := range keys {
			if k.kind != want {
				continue
			}
			s := stretchCached(k.secret, salt)
			vmk, err := try(s[:])
			if vmk != nil || err != nil {
				return vmk, err
			}
		}
	case ProtStartupKey:
		for _, k := range keys {
			if k.kind == kindStartup {
				if vmk, err := try(k.secret); vmk != nil || err != nil {
					return vmk, err
				}
			}
		}
	}
	if failed {
		return nil, errTag
	}
	return nil, nil
}

// openKeyDatum decrypts an AES-CCM datum that holds a key datum and
// returns the key (at least min bytes). errTag means the key was wrong.
func openKeyDatum(key []byte, c *ccm, off int64, min int) ([]byte, error) {
	plain, err := ccmOpen(key, c)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	if len(plain) < datumHeaderLen+4+min || int(binary.LittleEndian.Uint16(plain)) != len(plain) ||
		binary.LittleEndian.Uint16(plain[4:]) != valKey {
		return nil, formatErr(off, "decrypted key datum is malformed")
	}
	out := make([]byte, len(plain)-datumHeaderLen-4)
	copy(out, plain[datumHeaderLen+4:])
	return out, nil
}

// withVMK authenticates the metadata with the volume master key, decrypts
// the full-volume key and builds the Reader.
func (v *Volume) withVMK(vmk []byte, p Protector) (*Reader, error) {
	if err := v.authenticate(vmk); err != nil {
		return nil, err
	}
	off := v.MetadataOffsets[v.MetadataCopy]
	fvek, err := openKeyDatum(vmk, v.md.fvek, off, v.Method.keyLen())
	if errors.Is(err, errTag) {
		return nil, kindErr(ErrChecksum, off, "the full-volume key does not decrypt with the volume master key of protector %s", p.ID)
	}
	if err != nil {
		return nil, err
	}
	defer clear(fvek)
	c, err := newSectorCipher(v.Method, fvek, v.SectorSize)
	if err != nil {
		return nil, err
	}
	return newReader(v, c, p)
}

// authenticate checks the metadata block against the SHA-256 that the
// validation datum holds encrypted under the volume master key (what
// cryptsetup checks too). Metadata without that datum (Vista) is taken as
// it is.
func (v *Volume) authenticate(vmk []byte) error {
	c := v.md.validation
	if c == nil {
		return nil
	}
	off := v.MetadataOffsets[v.MetadataCopy]
	plain, err := ccmOpen(vmk, c)
	if errors.Is(err, errTag) {
		return kindErr(ErrChecksum, off, "metadata copy %d does not authenticate under the volume master key", v.MetadataCopy+1)
	}
	if err != nil {
		return err
	}
	// size, role, type, flags, hash type (0x2005 = SHA-256), unknown, hash
	if len(plain) < 12+32 || binary.LittleEndian.Uint16(plain[8:]) != 0x2005 {
		return nil // an unknown validation form: nothing to compare with
	}
	sum := sha256.Sum256(v.md.block)
	if !bytes.Equal(sum[:], plain[12:44]) {
		return kindErr(ErrChecksum, off, "metadata copy %d was changed after BitLocker wrote it", v.MetadataCopy+1)
	}
	return nil
}
