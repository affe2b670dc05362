package luks

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

const passphrase = testutil.LUKSPassphrase

// fixtures is the folder of the volumes cryptsetup encrypted.
func fixtures(t testing.TB) string { return testutil.LUKSImages(t) }

func openFile(t testing.TB, name string) *Volume {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	v, err := NewVolume(f, st.Size())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// TestCryptsetupVolumes unlocks every volume cryptsetup made and compares
// the decrypted bytes with the filesystem it encrypted.
func TestCryptsetupVolumes(t *testing.T) {
	dir := fixtures(t)
	plain, err := os.ReadFile(filepath.Join(dir, "plain.img"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, header, cipher, kdf string
		sector                    int
	}{
		{"luks2-xts", "LUKS2, primary header", "aes-xts-plain64", "argon2id", 512},
		{"luks2-xts-4k", "LUKS2, primary header", "aes-xts-plain64", "argon2i", 4096},
		{"luks2-pbkdf2", "LUKS2, primary header", "aes-xts-plain64", "pbkdf2-sha256", 512},
		{"luks2-cbc", "LUKS2, primary header", "aes-cbc-plain64", "pbkdf2-sha256", 512},
		{"luks1-essiv", "LUKS1", "aes-cbc-essiv:sha256", "pbkdf2-sha1", 512},
		{"luks1-xts", "LUKS1", "aes-xts-plain64", "pbkdf2-sha256", 512},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := openFile(t, filepath.Join(dir, c.name+".img"))
			if v.Header != c.header || v.Cipher != c.cipher || v.SectorSize() != c.sector ||
				len(v.KeySlots) == 0 || v.KeySlots[0].KDF != c.kdf || v.DataOffset() != 8<<20 {
				t.Fatalf("volume %+v, slot 0 %+v", v, v.KeySlots[0])
			}
			if _, err := v.Unlock([]byte("not it")); !errors.Is(err, ErrWrongKey) || strings.Contains(err.Error(), "not it") {
				t.Errorf("a wrong passphrase gave %v", err)
			}
			r, err := v.Unlock([]byte("not it"), []byte(passphrase))
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != 32<<20 {
				t.Errorf("decrypted size %d", r.Size())
			}
			got := make([]byte, len(plain))
			if _, err := r.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatal("the decrypted volume is not the filesystem cryptsetup encrypted")
			}
			// Reads that start and end inside sectors, across pieces.
			for _, at := range []struct{ off, n int64 }{{1, 10}, {511, 2}, {4095, 4098}, {1<<20 - 7, 3 << 20}} {
				b := make([]byte, at.n)
				if _, err := r.ReadAt(b, at.off); err != nil || !bytes.Equal(b, plain[at.off:at.off+at.n]) {
					t.Errorf("ReadAt(%d bytes at %d): %v or wrong bytes", at.n, at.off, err)
				}
			}
		})
	}
}

// TestSecondKeySlot opens a volume with the passphrase of its second slot.
func TestSecondKeySlot(t *testing.T) {
	v := openFile(t, filepath.Join(fixtures(t), "luks2-xts.img"))
	if len(v.KeySlots) != 2 || v.KeySlots[1].KDF != "pbkdf2-sha512" {
		t.Fatalf("key slots %+v", v.KeySlots)
	}
	r, err := v.Unlock([]byte("second one"))
	if err != nil || r.KeySlot != 1 {
		t.Fatalf("slot %v, %v", r, err)
	}
}

// TestDamagedHeaders: a LUKS2 volume whose primary header fails its
// checksum is read through the secondary one; with both damaged it is a
// checksum error, and a damaged LUKS1 key slot is a wrong key, never the
// wrong bytes.
func TestDamagedHeaders(t *testing.T) {
	dir := fixtures(t)
	b, err := os.ReadFile(filepath.Join(dir, "luks2-xts.img"))
	if err != nil {
		t.Fatal(err)
	}
	b[4096+10] ^= 1 // in the primary JSON area
	v, err := NewVolume(bytes.NewReader(b), int64(len(b)))
	if err != nil || v.Header != "LUKS2, secondary header" {
		t.Fatalf("primary damaged: %v, %v", v, err)
	}
	if _, err := v.Unlock([]byte(passphrase)); err != nil {
		t.Fatal(err)
	}
	b[16384+4096+10] ^= 1 // the secondary's
	if _, err := NewVolume(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrChecksum) {
		t.Fatalf("both damaged: %v", err)
	}

	b1, err := os.ReadFile(filepath.Join(dir, "luks1-xts.img"))
	if err != nil {
		t.Fatal(err)
	}
	v = openFile(t, filepath.Join(dir, "luks1-xts.img"))
	at := v.KeySlots[0].areaOff + 1000
	b1[at] ^= 0x40 // a byte of the key material
	v, err = NewVolume(bytes.NewReader(b1), int64(len(b1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Unlock([]byte(passphrase)); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("damaged key material: %v", err)
	}
}

// TestLuksDump compares the header as read with cryptsetup's luksDump.
func TestLuksDump(t *testing.T) {
	dir := fixtures(t)
	for _, name := range []string{"luks2-xts", "luks1-essiv"} {
		img := filepath.Join(dir, name+".img")
		dump := string(testutil.Run(t, "cryptsetup", "luksDump", img))
		v := openFile(t, img)
		if !strings.Contains(dump, v.UUID) || !strings.Contains(dump, "Version:       \t"+string(rune('0'+v.Version))) {
			t.Errorf("%s: uuid %s, version %d not in luksDump:\n%s", name, v.UUID, v.Version, dump)
		}
		slots := strings.Count(dump, ": luks2\n") + strings.Count(dump, ": ENABLED\n")
		if slots != len(v.KeySlots) {
			t.Errorf("%s: %d key slots, luksDump lists %d", name, len(v.KeySlots), slots)
		}
	}
}
