package guest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ckptfs/ckptfs/bitlocker"
)

// The BitLocker layer: a volume with a BitLocker signature is unlocked
// with the first key of Options.Keys that fits one of its protectors (or
// its clear key), and the decrypted volume goes down the pipeline in its
// place. A volume no key opens stays listed, Locked, with its protector
// types.

func init() {
	registerLayer(Layer{Name: "bitlocker", Unwrap: unwrapBitLocker})
}

func unwrapBitLocker(v *Volume, probe []byte, o *Options) (io.ReaderAt, int64, bool, error) {
	if !bitlocker.Detect(bytes.NewReader(probe), int64(len(probe))) {
		return nil, 0, false, nil
	}
	v.Encryption = "bitlocker"
	bv, err := bitlocker.NewVolume(withViews(v.Reader, v.Size), v.Size)
	if err != nil {
		return nil, 0, true, err
	}
	for _, p := range bv.Protectors {
		v.Protectors = append(v.Protectors, p.Type.String())
	}
	keys, err := o.bitlockerKeys()
	if err != nil {
		return nil, 0, true, err
	}
	r, err := bv.Unlock(keys...)
	if errors.Is(err, bitlocker.ErrWrongKey) {
		return nil, 0, true, fmt.Errorf("%w: %v", ErrLocked, err)
	}
	if err != nil {
		return nil, 0, true, err
	}
	v.UnlockedBy = r.Protector.Type.String()
	return r, r.Size(), true, nil
}

// viewWindow is a partition window whose disk shows views of its bytes
// (vhdx.Chain.Views): the BitLocker reader then decrypts large reads
// straight from the disk files' memory mapping instead of from a copy.
type viewWindow struct {
	*io.SectionReader
	disk      bitlocker.Viewer
	off, size int64
}

// Views are the disk's, clipped to the window.
func (w viewWindow) Views(off int64, n int) ([][]byte, bool) {
	if off < 0 || off > w.size {
		return nil, false
	}
	return w.disk.Views(w.off+off, int(min(int64(n), w.size-off)))
}

// withViews returns r as a viewWindow when it is a window over a disk
// that shows views, else r itself.
func withViews(r io.ReaderAt, size int64) io.ReaderAt {
	sr, ok := r.(*io.SectionReader)
	if !ok {
		return r
	}
	disk, off, n := sr.Outer()
	vw, ok := disk.(bitlocker.Viewer)
	if !ok || n != size {
		return r
	}
	return viewWindow{SectionReader: sr, disk: vw, off: off, size: n}
}

// isBitLockerHeader reports whether sector 0 of a disk is a BitLocker
// volume header: the disk is then one volume, not a table, even though
// the sector ends in 0x55AA as an MBR does.
func isBitLockerHeader(sec0 []byte) bool {
	return bitlocker.Detect(bytes.NewReader(sec0), int64(len(sec0)))
}

// keyCache holds the parsed keys of one Options: parsed once, because a
// mount opens the same volumes at every checkpoint.
type keyCache struct {
	once sync.Once
	keys []bitlocker.Key
	err  error
}

var keyCaches sync.Map // *Options -> *keyCache

// bitlockerKeys parses o.Keys (see CheckKeys).
func (o *Options) bitlockerKeys() ([]bitlocker.Key, error) {
	if o == nil || len(o.Keys) == 0 {
		return nil, nil
	}
	c, _ := keyCaches.LoadOrStore(o, &keyCache{})
	kc := c.(*keyCache)
	kc.once.Do(func() { kc.keys, kc.err = parseKeys(o.Keys) })
	return kc.keys, kc.err
}

// CheckKeys parses o.Keys and says which one is malformed, if any, without
// repeating it: "password:TEXT" is a password (BitLocker) or passphrase
// (LUKS), 48 digits in groups of six a recovery password (checked by its
// own rules), anything else the path of a key file: a BitLocker startup
// key (.BEK) or a LUKS key file.
func (o *Options) CheckKeys() error {
	_, err := o.bitlockerKeys()
	return err
}

// ErrBadKey is wrapped by the error of a key that is malformed.
var ErrBadKey = bitlocker.ErrBadKey

func parseKeys(in []string) ([]bitlocker.Key, error) {
	var out []bitlocker.Key
	for i, s := range in {
		k, ok, err := parseKey(s)
		if err != nil {
			return nil, fmt.Errorf("BitLocker key %d of %d: %w", i+1, len(in), err)
		}
		if ok {
			out = append(out, k)
		}
	}
	return out, nil
}

// parseKey reads one key as BitLocker takes it; ok is false for a file
// that is not a startup key and not named like one (*.BEK): a LUKS key
// file, which the LUKS layer reads.
func parseKey(s string) (k bitlocker.Key, ok bool, err error) {
	if text, ok := strings.CutPrefix(s, "password:"); ok {
		return bitlocker.Password(text), true, nil
	}
	if isRecoveryPassword(s) {
		k, err := bitlocker.RecoveryPassword(strings.TrimSpace(s))
		return k, err == nil, err
	}
	b, err := readKeyFile(s, maxKeyFile)
	if err != nil {
		return bitlocker.Key{}, false, fmt.Errorf("%w: neither password:TEXT, a recovery password, nor a readable key file", bitlocker.ErrBadKey)
	}
	k, err = bitlocker.StartupKey(b)
	if err != nil && !strings.EqualFold(filepath.Ext(s), ".bek") {
		return bitlocker.Key{}, false, nil
	}
	return k, err == nil, err
}

// isRecoveryPassword reports whether a key looks like a BitLocker
// recovery password (digits and dashes), right or wrong.
func isRecoveryPassword(s string) bool {
	t := strings.TrimSpace(s)
	return t != "" && strings.Trim(t, "0123456789-") == ""
}

// maxKeyFile is the largest key file read: cryptsetup's default limit for
// a LUKS key file (a .BEK file is a few hundred bytes).
const maxKeyFile = 8 << 20

// readKeyFile reads a key file of at most max bytes.
func readKeyFile(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errors.New("too large")
	}
	return b, nil
}
