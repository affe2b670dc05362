// Package luks reads Linux Unified Key Setup volumes (LUKS1 and LUKS2, as
// cryptsetup writes them): the header and its key slots, the unlocking of
// the volume key with a passphrase, and the decrypted bytes of the data
// segment as an io.ReaderAt.
//
// A Linux guest installed with "encrypt my disk" (Ubuntu, Fedora, RHEL)
// keeps its root filesystem, or an LVM group holding it, inside LUKS.
// Off the guest, what its owner holds is the passphrase, or the key file
// a crypttab names.
//
// Supported: LUKS1 and LUKS2 (its primary or, when that is damaged, its
// secondary header), key slots derived with PBKDF2 (SHA-1, SHA-256,
// SHA-512), Argon2i or Argon2id, the anti-forensic splitter, and AES in
// the modes cryptsetup uses: xts-plain64 (the default since 2014),
// xts-plain, cbc-essiv:sha256 (LUKS1's old default), cbc-plain64 and
// cbc-plain; LUKS2 sectors of 512 to 4096 bytes. Other ciphers (serpent,
// twofish), authenticated segments (dm-integrity) and key slots kept in a
// token (a TPM, a FIDO2 key) are reported as ErrUnsupported. A volume
// whose re-encryption was interrupted is refused the same way.
//
// The package never writes: a LUKS header copy that fails its checksum is
// skipped, not mended. Passphrases and keys never appear in errors.
package luks
