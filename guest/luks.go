package guest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/ckptfs/ckptfs/luks"
)

// The LUKS layer: a volume with a LUKS header is unlocked with the first
// passphrase of Options.Keys that opens one of its key slots
// ("password:TEXT", or the contents of a key file, as cryptsetup's
// --key-file reads it), and the decrypted data segment goes down the
// pipeline in its place: a filesystem, or an LVM group (Ubuntu's and
// Fedora's encrypted installs put LVM inside LUKS). A volume no
// passphrase opens stays listed, Locked, with its key slots.

func init() {
	registerLayer(Layer{Name: "luks", Unwrap: unwrapLUKS})
}

func unwrapLUKS(v *Volume, probe []byte, o *Options) (io.ReaderAt, int64, bool, error) {
	if !luks.Detect(bytes.NewReader(probe), int64(len(probe))) {
		return nil, 0, false, nil
	}
	v.Encryption = "luks"
	lv, err := luks.NewVolume(v.Reader, v.Size)
	if err != nil {
		return nil, 0, true, err
	}
	v.Encryption = fmt.Sprintf("luks%d", lv.Version)
	v.cryptUUID = lv.UUID // what crypttab and /dev/mapper/luks-<UUID> name it by
	for _, ks := range lv.KeySlots {
		p := fmt.Sprintf("key slot %d (%s)", ks.ID, ks.KDF)
		if ks.Unusable != "" {
			p = fmt.Sprintf("key slot %d (not readable here: %s)", ks.ID, ks.Unusable)
		}
		v.Protectors = append(v.Protectors, p)
	}
	// A mount opens the same volume in every checkpoint: a volume key
	// found once opens the others with a digest check, not the second or
	// two of key derivation each passphrase costs.
	kc := o.luksKeys()
	if r, slot := kc.open(lv); r != nil {
		v.UnlockedBy = fmt.Sprintf("key slot %d", slot)
		return r, r.Size(), true, nil
	}
	passes := o.luksPassphrases()
	if len(passes) == 0 {
		return nil, 0, true, fmt.Errorf("%w: no passphrase was given (a key password:TEXT, or the path of a key file)", ErrLocked)
	}
	r, err := lv.Unlock(passes...)
	if errors.Is(err, luks.ErrWrongKey) {
		return nil, 0, true, fmt.Errorf("%w: %v", ErrLocked, err)
	}
	if err != nil {
		return nil, 0, true, err
	}
	kc.add(r.VolumeKey(), r.KeySlot)
	v.UnlockedBy = fmt.Sprintf("key slot %d", r.KeySlot)
	return r, r.Size(), true, nil
}

// luksKeyCache holds the volume keys the passphrases of one Options
// opened, with the slot each was found through.
type luksKeyCache struct {
	mu   sync.Mutex
	keys []luksKey
}

type luksKey struct {
	key  []byte
	slot int
}

var luksKeyCaches sync.Map // *Options -> *luksKeyCache

// luksKeys is o's cache of volume keys (nil for a nil o: nothing kept).
func (o *Options) luksKeys() *luksKeyCache {
	if o == nil {
		return nil
	}
	c, _ := luksKeyCaches.LoadOrStore(o, &luksKeyCache{})
	return c.(*luksKeyCache)
}

// open tries the keys found before on lv.
func (c *luksKeyCache) open(lv *luks.Volume) (*luks.Reader, int) {
	if c == nil {
		return nil, 0
	}
	c.mu.Lock()
	keys := append([]luksKey(nil), c.keys...)
	c.mu.Unlock()
	for _, k := range keys {
		if r, err := lv.UnlockKey(k.key); err == nil {
			return r, k.slot
		}
	}
	return nil, 0
}

func (c *luksKeyCache) add(key []byte, slot int) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = append(c.keys, luksKey{key, slot})
}

// luksPassphrases are the keys of o a LUKS volume may take: the text of
// each password:TEXT and the bytes of each readable key file that is not
// a BitLocker recovery password. (Keys were checked by CheckKeys; one
// that cannot be read here is left out.)
func (o *Options) luksPassphrases() [][]byte {
	if o == nil {
		return nil
	}
	var out [][]byte
	for _, k := range o.Keys {
		if text, ok := strings.CutPrefix(k, "password:"); ok {
			out = append(out, []byte(text))
			continue
		}
		if isRecoveryPassword(k) {
			continue
		}
		if b, err := readKeyFile(k, maxKeyFile); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// isLUKSHeader reports whether sector 0 of a disk is a LUKS header: the
// disk is then one volume (a whole disk encrypted, as cryptsetup on
// /dev/sdb makes it), not a partition table.
func isLUKSHeader(sec0 []byte) bool {
	return luks.Detect(bytes.NewReader(sec0), int64(len(sec0)))
}
