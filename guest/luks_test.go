package guest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestLUKSVolumes opens LUKS volumes made by cryptsetup as whole disks
// through the pipeline: with the passphrase (as password:TEXT or a key
// file) the ext4 filesystem inside shows its files; without, or with a
// wrong one, the volume is listed Locked with its key slots.
func TestLUKSVolumes(t *testing.T) {
	dir := testutil.LUKSImages(t)
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(testutil.LUKSPassphrase), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"luks2-xts", "luks2-xts-4k", "luks1-essiv"} {
		for _, keys := range [][]string{{"password:" + testutil.LUKSPassphrase}, {"password:nope", keyFile}} {
			t.Run(name, func(t *testing.T) {
				vols := openLUKS(t, filepath.Join(dir, name+".img"), keys)
				v := vols[0]
				if v.Err != nil || v.FS == nil || v.FSType != fsExt4 || v.Label != "inside" || v.Locked ||
					!strings.HasPrefix(v.Encryption, "luks") || v.UnlockedBy != "key slot 0" || strings.Join(v.Layers, ",") != "luks" {
					t.Fatalf("volume %+v", v)
				}
				b, err := fs.ReadFile(v.FS, "hello.txt")
				if err != nil || string(b) != "the file inside LUKS\n" {
					t.Errorf("hello.txt: %q, %v", b, err)
				}
				if b, err := fs.ReadFile(v.FS, "docs/big.bin"); err != nil || len(b) != 3000000 || strings.Trim(string(b), "L") != "" {
					t.Errorf("docs/big.bin: %d bytes, %v", len(b), err)
				}
			})
		}
	}
	for _, keys := range [][]string{nil, {"password:wrong"}} {
		vols := openLUKS(t, filepath.Join(dir, "luks2-xts.img"), keys)
		v := vols[0]
		if !v.Locked || !errors.Is(v.Err, ErrLocked) || v.FS != nil || len(v.Protectors) != 2 ||
			v.Protectors[0] != "key slot 0 (argon2id)" || strings.Contains(v.Err.Error(), "wrong") {
			t.Errorf("keys %q: volume %+v (%v)", keys, v, v.Err)
		}
	}
}

func openLUKS(t *testing.T, img string, keys []string) []*Volume {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	o := &Options{Keys: keys}
	if err := o.CheckKeys(); err != nil {
		t.Fatal(err)
	}
	vols, err := o.Volumes(f, st.Size(), "Disk0")
	if err != nil || len(vols) == 0 {
		t.Fatalf("%d volumes, %v", len(vols), err)
	}
	return vols
}

// TestLUKSKeyKept opens a LUKS volume twice with one Options, as a mount
// opens it in every checkpoint: the second time it opens by the volume key
// found the first time, even with its key file gone (no key derivation).
// Another Options keeps nothing.
func TestLUKSKeyKept(t *testing.T) {
	img := filepath.Join(testutil.LUKSImages(t), "luks2-xts.img")
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(testutil.LUKSPassphrase), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &Options{Keys: []string{keyFile}}
	open := func(o *Options) *Volume {
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		st, _ := f.Stat()
		vols, err := o.Volumes(f, st.Size(), "Disk0")
		if err != nil {
			t.Fatal(err)
		}
		return vols[0]
	}
	if v := open(o); v.Err != nil || v.UnlockedBy != "key slot 0" {
		t.Fatalf("first open: %+v", v)
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	if v := open(o); v.Err != nil || v.FS == nil || v.UnlockedBy != "key slot 0" {
		t.Fatalf("second open: %+v (%v)", v, v.Err)
	}
	if v := open(&Options{Keys: []string{keyFile}}); !v.Locked {
		t.Fatalf("another Options opened it: %+v", v)
	}
}
