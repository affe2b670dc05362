package luks

import (
	"crypto/pbkdf2"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// kdf is how a key slot turns a passphrase into the key of its area.
type kdf struct {
	typ        string // "pbkdf2", "argon2i", "argon2id"
	hash       string // pbkdf2's
	iterations int64  // pbkdf2's
	time       int64  // argon2's passes
	memory     int64  // argon2's, KiB
	threads    int64  // argon2's lanes
	salt       []byte
}

// Bounds on what a header may ask the key derivation for: cryptsetup's own
// limits where it has them (Argon2: 4 GiB, 16 threads), and far above what
// it ever benchmarks otherwise, so that a hostile header cannot make an
// unlock run for hours.
const (
	maxPBKDF2Iterations = 1 << 27
	maxArgonMemoryKiB   = 4 << 20
	maxArgonTime        = 1 << 12
	maxArgonThreads     = 16
	// maxArgonWork bounds memory × passes (KiB): 32 passes over 4 GiB,
	// some minutes of work, several times what cryptsetup tunes for.
	maxArgonWork = 32 * maxArgonMemoryKiB
)

// derive runs the key derivation for a key of n bytes.
func (k *kdf) derive(pass []byte, n int) ([]byte, error) {
	switch k.typ {
	case "pbkdf2":
		h := newHash(k.hash)
		if h == nil {
			return nil, unsupported("luks: PBKDF2 with hash %q", k.hash)
		}
		if k.iterations < 1 || k.iterations > maxPBKDF2Iterations {
			return nil, formatErr(-1, "PBKDF2 with %d iterations", k.iterations)
		}
		return pbkdf2.Key(h, string(pass), k.salt, int(k.iterations), n)
	case "argon2i", "argon2id":
		if k.time < 1 || k.time > maxArgonTime || k.memory < 8 || k.memory > maxArgonMemoryKiB ||
			k.threads < 1 || k.threads > maxArgonThreads || k.time*k.memory > maxArgonWork {
			return nil, formatErr(-1, "%s with time %d, memory %d KiB, %d threads", k.typ, k.time, k.memory, k.threads)
		}
		if k.typ == "argon2i" {
			return argon2.Key(pass, k.salt, uint32(k.time), uint32(k.memory), uint8(k.threads), uint32(n)), nil
		}
		return argon2.IDKey(pass, k.salt, uint32(k.time), uint32(k.memory), uint8(k.threads), uint32(n)), nil
	}
	return nil, unsupported("luks: key derivation %q", k.typ)
}

// check verifies a candidate volume key against the digest.
func (d *digest) check(key []byte) (bool, error) {
	h := newHash(d.hash)
	if h == nil {
		return false, unsupported("luks: digest hash %q", d.hash)
	}
	if d.iterations < 1 || d.iterations > maxPBKDF2Iterations {
		return false, formatErr(-1, "digest of %d iterations", d.iterations)
	}
	got, err := pbkdf2.Key(h, string(key), d.salt, int(d.iterations), len(d.value))
	if err != nil {
		return false, fmt.Errorf("luks: digest: %w", err)
	}
	return constantEqual(got, d.value), nil
}
