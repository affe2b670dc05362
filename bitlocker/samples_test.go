package bitlocker

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// sample is one image of ../shared/samples/bitlocker.tar.xz as images.conf
// describes it.
type sample struct {
	name    string
	path    string
	cipher  string // cryptsetup's name: aes-cbc-eboiv, aes-cbc-elephant, aes-xts-plain64
	guid    string
	pw, rp  string
	pwID    string
	rpID    string
	skID    string
	clearID string
	sha256  string
	bek     string // startup key file, if any
}

var (
	samplesOnce sync.Once
	samplesDir  string
	samplesErr  error
)

// loadSamples unpacks the archive once into testdata/out (kept between
// runs and shared by fuzz workers; a rename publishes it whole, so runs in
// parallel cannot see half of it) and parses images.conf.
func loadSamples(t testing.TB) []sample {
	t.Helper()
	src := filepath.Join(testutil.Samples(t), "bitlocker.tar.xz")
	testutil.NeedTool(t, "xz")
	samplesOnce.Do(func() {
		out := filepath.Join(testutil.RepoRoot(), "testdata", "out")
		samplesDir = filepath.Join(out, "bitlocker-samples")
		if _, err := os.Stat(filepath.Join(samplesDir, "bitlocker", "images.conf")); err == nil {
			return
		}
		if samplesErr = os.MkdirAll(out, 0o755); samplesErr != nil {
			return
		}
		tmp, err := os.MkdirTemp(out, "bitlocker-samples-")
		if err != nil {
			samplesErr = err
			return
		}
		if b, err := exec.Command("tar", "-xJf", src, "-C", tmp).CombinedOutput(); err != nil {
			os.RemoveAll(tmp)
			samplesErr = fmt.Errorf("tar: %v: %s", err, b)
			return
		}
		if err := os.Rename(tmp, samplesDir); err != nil {
			os.RemoveAll(tmp) // another run published it first
		}
	})
	if samplesErr != nil {
		t.Fatal(samplesErr)
	}
	dir := filepath.Join(samplesDir, "bitlocker")
	f, err := os.Open(filepath.Join(dir, "images.conf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sample
	var cur *sample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			out = append(out, sample{name: line[1 : len(line)-1]})
			cur = &out[len(out)-1]
			cur.path = filepath.Join(dir, cur.name+".img")
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok || cur == nil {
			continue
		}
		switch k {
		case "CIPHER":
			cur.cipher = val
		case "GUID":
			cur.guid = val
		case "PW":
			cur.pw = val
		case "RP":
			cur.rp = val
		case "PW_VMK_GUID":
			cur.pwID = val
		case "RP_VMK_GUID":
			cur.rpID = val
		case "SK_VMK_GUID":
			cur.skID = val
			cur.bek = filepath.Join(dir, strings.ToUpper(val)+".BEK")
		case "CLEARKEY_VMK_GUID":
			cur.clearID = val
		case "SHA256SUM":
			cur.sha256 = val
		}
	}
	if len(out) == 0 {
		t.Fatal("images.conf lists no image")
	}
	return out
}

func openSample(t testing.TB, s sample) *File {
	t.Helper()
	f, err := Open(s.path)
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// hashVolume hashes the whole decrypted volume, reading it in odd-sized
// pieces so unaligned heads and tails are exercised too.
func hashVolume(t testing.TB, r io.ReaderAt, size int64) string {
	t.Helper()
	h := sha256.New()
	buf := make([]byte, 1<<20+777)
	for off := int64(0); off < size; {
		n, err := r.ReadAt(buf, off)
		if err != nil && err != io.EOF {
			t.Fatalf("ReadAt %d: %v", off, err)
		}
		if n == 0 {
			t.Fatalf("ReadAt %d: no progress", off)
		}
		h.Write(buf[:n])
		off += int64(n)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestSamplesUnlock unlocks every sample with every protector it has and
// compares the decrypted volume's SHA-256 with the one images.conf gives
// (cryptsetup's mapping).
func TestSamplesUnlock(t *testing.T) {
	for _, s := range loadSamples(t) {
		t.Run(s.name, func(t *testing.T) {
			f := openSample(t, s)
			if f.GUID != s.guid {
				t.Errorf("GUID %s, want %s", f.GUID, s.guid)
			}
			type try struct {
				what string
				id   string
				key  func() (Key, error)
			}
			var tries []try
			if s.pw != "" {
				tries = append(tries, try{"password", s.pwID, func() (Key, error) { return Password(s.pw), nil }})
			}
			if s.rp != "" {
				tries = append(tries, try{"recovery", s.rpID, func() (Key, error) { return RecoveryPassword(s.rp) }})
			}
			if s.bek != "" {
				tries = append(tries, try{"startup", s.skID, func() (Key, error) {
					b, err := os.ReadFile(s.bek)
					if err != nil {
						return Key{}, err
					}
					return StartupKey(b)
				}})
			}
			if s.clearID != "" {
				tries = append(tries, try{"clear", s.clearID, func() (Key, error) { return Key{}, nil }})
			}
			if len(tries) == 0 {
				t.Fatal("no protector to try")
			}
			var first *Reader
			for _, tr := range tries {
				k, err := tr.key()
				if err != nil {
					t.Fatalf("%s: %v", tr.what, err)
				}
				var r *Reader
				if k.kind == 0 {
					r, err = f.Unlock()
				} else {
					r, err = f.Unlock(k)
				}
				if err != nil {
					t.Fatalf("%s: %v", tr.what, err)
				}
				if r.Protector.ID != tr.id {
					t.Errorf("%s: opened by protector %s, want %s", tr.what, r.Protector.ID, tr.id)
				}
				if first == nil {
					// The whole volume once; the other protectors yield the
					// same full-volume key, checked on sampled ranges.
					first = r
					if got := hashVolume(t, r, r.Size()); got != s.sha256 {
						t.Errorf("%s: decrypted SHA-256 %s, want %s", tr.what, got, s.sha256)
					}
					continue
				}
				sameBytes(t, first, r, r.Size())
			}
		})
	}
}

// sameBytes compares two readers on a spread of ranges.
func sameBytes(t testing.TB, a, b io.ReaderAt, size int64) {
	t.Helper()
	x, y := make([]byte, 64<<10), make([]byte, 64<<10)
	for off := int64(0); off < size; off += size/16 + 4096 {
		na, _ := a.ReadAt(x, off)
		nb, _ := b.ReadAt(y, off)
		if na != nb || !bytes.Equal(x[:na], y[:nb]) {
			t.Fatalf("readers differ at %d", off)
		}
	}
}
