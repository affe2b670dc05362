package guest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/bltest"
	"github.com/ckptfs/ckptfs/vhdx"
)

// openVHDX opens a VHDX and returns its volumes under opt.
func vhdxVolumes(t *testing.T, path, name string, opt *Options) []*Volume {
	t.Helper()
	c, err := vhdx.OpenChain(path, vhdx.ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	vols, err := opt.Volumes(c, c.Size(), name)
	if err != nil {
		t.Fatal(err)
	}
	return vols
}

func findVol(t *testing.T, vols []*Volume, name string) *Volume {
	t.Helper()
	for _, v := range vols {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %s", name)
	return nil
}

// TestBitLockerLayer opens a BitLocker-wrapped FAT volume, alone and as a
// GPT partition of a VHDX, with each kind of key: the decrypted bytes are
// the built view, and the FAT files read back; without a key, or with a
// wrong one, the volume is listed as BitLocker, locked, with its
// protectors, and its error names it.
func TestBitLockerLayer(t *testing.T) {
	fx := bltest.Build(t, 1)
	keys := map[string]string{
		"password":          "password:" + fx.Password,
		"recovery password": fx.Recovery,
		"startup key":       fx.BEK,
	}
	for _, img := range []struct{ path, disk, vol string }{
		{fx.VHDX, "vol", "vol-vol"},
		{fx.GPTVHDX, "disk", "disk-p1"},
	} {
		for what, key := range keys {
			v := findVol(t, vhdxVolumes(t, img.path, img.disk, &Options{Keys: []string{"password:wrong", key}}), img.vol)
			if v.Err != nil || v.Locked || v.Encryption != "bitlocker" || v.UnlockedBy != what {
				t.Fatalf("%s with %s: err %v, locked %v, encryption %q, unlocked by %q", img.vol, what, v.Err, v.Locked, v.Encryption, v.UnlockedBy)
			}
			if strings.Join(v.Layers, ",") != "bitlocker" || !v.Remapped || v.FSType != "fat16" {
				t.Errorf("%s: layers %v, remapped %v, fs %s", img.vol, v.Layers, v.Remapped, v.FSType)
			}
			got := make([]byte, v.Size)
			if _, err := v.Reader.ReadAt(got, 0); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if !bytes.Equal(got, fx.View) {
				t.Fatalf("%s with %s: decrypted bytes differ from the built view", img.vol, what)
			}
			for name, content := range fx.Files {
				b, err := fs.ReadFile(v.FS, name)
				if err != nil || string(b) != content {
					t.Errorf("%s: %s reads %q, %v", img.vol, name, b, err)
				}
			}
		}
		for _, opt := range []*Options{nil, {Keys: []string{"password:wrong", "000011-000022-000033-000044-000055-000066-000077-000088"}}} {
			v := findVol(t, vhdxVolumes(t, img.path, img.disk, opt), img.vol)
			if !v.Locked || v.FS != nil || v.Encryption != "bitlocker" || !errors.Is(v.Err, ErrLocked) {
				t.Fatalf("%s without the key: locked %v, err %v", img.vol, v.Locked, v.Err)
			}
			if strings.Join(v.Protectors, ", ") != "password, recovery password, startup key" {
				t.Errorf("protectors %v", v.Protectors)
			}
			if !strings.HasPrefix(v.Err.Error(), img.vol+": bitlocker: ") {
				t.Errorf("the error does not name the volume: %v", v.Err)
			}
		}
	}
}

// TestBitLockerBadKeys: a malformed key is an error naming its place in
// the list, never its text.
func TestBitLockerBadKeys(t *testing.T) {
	for _, k := range []string{"123456-123456", "111111-222222-333333-444444-555555-666666-777777-888888", "/no/such/file.BEK"} {
		err := (&Options{Keys: []string{"password:x", k}}).CheckKeys()
		if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), "key 2 of 2") || strings.Contains(err.Error(), k) {
			t.Errorf("%q: %v", k, err)
		}
	}
}

// TestBitLockerSamplesInVHDX wraps Windows-made BitLocker volumes as a
// GPT partition of a VHDX and unlocks them through the pipeline: the
// decrypted volume hashes as cryptsetup maps it.
func TestBitLockerSamplesInVHDX(t *testing.T) {
	for _, s := range []struct{ name, key, sha string }{
		{"bitlk-aes-xts-128", "235818-357951-253979-013365-241120-245575-342914-591910", "674e3a976927fd62f3fc26df2c695cac75b8d364e3b45393717efa971f16db0f"},
		{"bitlk-aes-cbc-128", "password:anaconda", "04500a8120ba355ed206284e03e26e59b7e1f1832868e1d69bb47023ebd3460f"},
	} {
		t.Run(s.name, func(t *testing.T) {
			disk := bltest.SampleInGPT(t, s.name)
			v := findVol(t, vhdxVolumes(t, disk, "disk", &Options{Keys: []string{s.key}}), "disk-p1")
			if v.Locked || v.Encryption != "bitlocker" || v.Reader == nil {
				t.Fatalf("locked %v, encryption %q: %v", v.Locked, v.Encryption, v.Err)
			}
			h := sha256.New()
			if _, err := io.Copy(h, io.NewSectionReader(v.Reader, 0, v.Size)); err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != s.sha {
				t.Errorf("decrypted SHA-256 %s, want %s", got, s.sha)
			}
		})
	}
}
