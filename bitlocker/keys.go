package bitlocker

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"unicode/utf16"
)

type keyKind int

const (
	kindRecovery keyKind = iota + 1
	kindPassword
	kindStartup
)

func (k keyKind) String() string {
	switch k {
	case kindRecovery:
		return "recovery password"
	case kindPassword:
		return "password"
	case kindStartup:
		return "startup key"
	}
	return "no key"
}

// Key is a secret that may unlock a BitLocker volume: a recovery password,
// a user password or a startup key. It keeps only what the unlocking needs
// (a hash, or the 32-byte startup key), never the text. Every fmt verb
// prints its kind alone, so a Key cannot leak through a log line or an
// error message. Call Wipe when done with it.
type Key struct {
	kind   keyKind
	secret []byte // the first SHA-256 of the key derivation, or the startup key
	id     string // a startup key: the GUID of the protector it was made for
}

// Format prints the key's kind, whatever the verb: "recovery password",
// "password" or "startup key".
func (k Key) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.kind.String()) }

// String returns the key's kind, never its secret.
func (k Key) String() string { return k.kind.String() }

// GoString returns the key's kind, never its secret.
func (k Key) GoString() string { return "bitlocker.Key(" + k.kind.String() + ")" }

// ID returns the protector GUID a startup key was made for, "" for others.
func (k Key) ID() string { return k.id }

// Wipe overwrites the key's secret in memory.
func (k *Key) Wipe() {
	clear(k.secret)
	k.secret = nil
}

// RecoveryPassword checks a 48-digit recovery password (eight groups of six
// digits, dashes between them optional) and turns it into a Key. Each group
// must be divisible by 11 and below 720896 (its quotient is a 16-bit
// word); the error says which rule a group breaks, never its digits.
func RecoveryPassword(s string) (Key, error) {
	s = strings.TrimSpace(s)
	var groups []string
	switch {
	case strings.Contains(s, "-"):
		groups = strings.Split(s, "-")
	case len(s) == 48:
		for i := 0; i < 48; i += 6 {
			groups = append(groups, s[i:i+6])
		}
	}
	if len(groups) != 8 {
		return Key{}, fmt.Errorf("%w: a recovery password is 48 digits in 8 groups of 6, separated by dashes", ErrBadKey)
	}
	var raw [16]byte
	for i, g := range groups {
		if len(g) != 6 || strings.Trim(g, "0123456789") != "" {
			return Key{}, fmt.Errorf("%w: recovery password group %d is not 6 digits", ErrBadKey, i+1)
		}
		var n uint32
		for _, c := range g {
			n = n*10 + uint32(c-'0')
		}
		if n%11 != 0 {
			return Key{}, fmt.Errorf("%w: recovery password group %d is not divisible by 11 (a typing error?)", ErrBadKey, i+1)
		}
		if n >= 720896 {
			return Key{}, fmt.Errorf("%w: recovery password group %d is 720896 or more", ErrBadKey, i+1)
		}
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(n/11))
	}
	h := sha256.Sum256(raw[:])
	clear(raw[:])
	return Key{kind: kindRecovery, secret: h[:]}, nil
}

// Password turns a user password into a Key: SHA-256 twice over its
// UTF-16LE form, as Windows derives it (the salted stretching follows at
// unlock time, per protector).
func Password(s string) Key {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	h := sha256.Sum256(b)
	clear(b)
	clear(u)
	h = sha256.Sum256(h[:])
	return Key{kind: kindPassword, secret: h[:]}
}

// bekHeaderLen is the header of a startup key (.BEK) file: the same
// 48-byte metadata header a volume has, naming the protector.
const bekHeaderLen = 48

// StartupKey reads a startup key file (.BEK, as Windows writes to a USB
// stick): a metadata header and a startup-key datum holding a 32-byte key.
func StartupKey(bek []byte) (Key, error) {
	if len(bek) < bekHeaderLen+datumHeaderLen || len(bek) > 1<<16 {
		return Key{}, fmt.Errorf("%w: a startup key file is a few hundred bytes, this one has %d", ErrBadKey, len(bek))
	}
	size := binary.LittleEndian.Uint32(bek)
	if binary.LittleEndian.Uint32(bek[4:]) != 1 || binary.LittleEndian.Uint32(bek[8:]) != bekHeaderLen ||
		size < bekHeaderLen || size > uint32(len(bek)) {
		return Key{}, fmt.Errorf("%w: not a startup key file (bad header)", ErrBadKey)
	}
	ds, err := parseDatums(bek[bekHeaderLen:size], -1)
	if err != nil {
		return Key{}, fmt.Errorf("%w: startup key file: %v", ErrBadKey, err)
	}
	for _, d := range ds {
		if d.role != roleStartupKey || d.vtype != valExternalKey {
			continue
		}
		inner, err := d.nested(1)
		if err != nil {
			return Key{}, fmt.Errorf("%w: startup key file: %v", ErrBadKey, err)
		}
		for _, n := range inner {
			if n.vtype == valKey && len(n.body) == 4+32 {
				k := Key{kind: kindStartup, id: guidString(d.body), secret: make([]byte, 32)}
				copy(k.secret, n.body[4:])
				return k, nil
			}
		}
	}
	return Key{}, fmt.Errorf("%w: startup key file holds no 32-byte key", ErrBadKey)
}

// stretchMemo remembers derivations for the life of the process: a
// mount opens the same volume at every checkpoint, and each derivation
// costs 2^20 hashes. It is bounded, and keyed by a hash of its inputs.
var stretchMemo struct {
	sync.Mutex
	m map[[32]byte][32]byte
}

// stretchCached is stretch, remembered.
func stretchCached(initial, salt []byte) [32]byte {
	h := sha256.New()
	h.Write(initial)
	h.Write(salt)
	var id [32]byte
	h.Sum(id[:0])
	stretchMemo.Lock()
	v, ok := stretchMemo.m[id]
	stretchMemo.Unlock()
	if ok {
		return v
	}
	v = stretch(initial, salt)
	stretchMemo.Lock()
	if stretchMemo.m == nil {
		stretchMemo.m = map[[32]byte][32]byte{}
	}
	if len(stretchMemo.m) < 256 {
		stretchMemo.m[id] = v
	}
	stretchMemo.Unlock()
	return v
}

// stretchRounds is the count of the key derivation, fixed by the format.
const stretchRounds = 0x100000

// stretch derives the key that opens a password or recovery-password
// protector: SHA-256 over (last hash, initial hash, salt, counter) for
// 2^20 rounds. The 88-byte block lives on the stack and is wiped.
func stretch(initial []byte, salt []byte) [32]byte {
	var blk [88]byte
	copy(blk[32:64], initial)
	copy(blk[64:80], salt)
	var last [32]byte
	for i := uint64(0); i < stretchRounds; i++ {
		binary.LittleEndian.PutUint64(blk[80:], i)
		last = sha256.Sum256(blk[:])
		copy(blk[:32], last[:])
	}
	clear(blk[:])
	return last
}
