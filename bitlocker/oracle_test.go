package bitlocker

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// dislockerFile decrypts img with dislocker-file (an independent reader)
// and returns what it wrote. keyArgs picks the protector: "-c" or
// "-f", bekPath.
func dislockerFile(t *testing.T, img string, keyArgs ...string) []byte {
	t.Helper()
	tool := testutil.NeedTool(t, "dislocker-file")
	out := filepath.Join(t.TempDir(), "dislocker.raw")
	args := append(append([]string{"-V", img}, keyArgs...), "-r", "--", out)
	if b, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("dislocker-file %v: %v\n%s", args, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDislockerSynthetic has dislocker decrypt the built volumes: it must
// read each the way this package does, which checks the builder (and so
// the synthetic tests) against a reader we did not write.
func TestDislockerSynthetic(t *testing.T) {
	for _, spec := range synthSpecs {
		t.Run(spec.name(), func(t *testing.T) {
			bv := buildVolume(t, spec)
			dir := t.TempDir()
			img := filepath.Join(dir, "vol.img")
			if err := os.WriteFile(img, bv.img, 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"-c"}
			if !spec.clearKey {
				bek := filepath.Join(dir, "key.bek")
				if err := os.WriteFile(bek, bv.bek, 0o600); err != nil {
					t.Fatal(err)
				}
				args = []string{"-f", bek}
			}
			if spec.state == StateSwitching {
				t.Skip("dislocker 0.7 crashes (double free) on a volume in conversion")
			}
			got := dislockerFile(t, img, args...)
			if spec.encrypted < spec.size || spec.encrypted == 0 {
				// dislocker serves the encrypted part only.
				if int64(len(got)) != max(spec.encrypted, 0) && spec.encrypted != 0 {
					t.Fatalf("dislocker gave %d bytes, want the %d encrypted", len(got), spec.encrypted)
				}
			}
			want := bv.want[:len(got)]
			if spec.kind == KindVista {
				// dislocker 0.7.2 leaves the metadata cluster in the boot
				// sector's MFT-mirror field (its own debug line names the
				// field it meant to restore) and decrypts the backup boot
				// sector, which Vista keeps in the clear like the boot
				// sector: compare everything else.
				got, want = bytes.Clone(got), bytes.Clone(want)
				for _, b := range [][]byte{got, want} {
					clear(b[hdrVistaLCN : hdrVistaLCN+8])
					clear(b[len(b)-spec.sectorSize:])
				}
			}
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("dislocker's view differs from the plaintext at byte %d (of %d)", i, len(got))
			}
		})
	}
}

// TestDislockerSamples decrypts the two samples that need no key
// derivation with dislocker and compares with this package's bytes.
func TestDislockerSamples(t *testing.T) {
	for _, s := range loadSamples(t) {
		var args []string
		switch {
		case s.clearID != "":
			args = []string{"-c"}
		case s.bek != "":
			args = []string{"-f", s.bek}
		default:
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			want := dislockerFile(t, s.path, args...)
			f := openSample(t, s)
			var keys []Key
			if s.bek != "" {
				b, err := os.ReadFile(s.bek)
				if err != nil {
					t.Fatal(err)
				}
				k, err := StartupKey(b)
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, k)
			}
			r, err := f.Unlock(keys...)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, r.Size())
			if _, err := r.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("differs from dislocker at byte %d", firstDiff(got, want))
			}
		})
	}
}

// TestBitlkDump compares the metadata this package reads with
// cryptsetup's bitlkDump: identifier, sector size, cipher, protectors
// (GUID and type, in order), metadata copies and the relocated header.
func TestBitlkDump(t *testing.T) {
	tool := testutil.NeedTool(t, "cryptsetup")
	for _, s := range loadSamples(t) {
		t.Run(s.name, func(t *testing.T) {
			out, err := exec.Command(tool, "bitlkDump", s.path).CombinedOutput()
			if err != nil {
				t.Fatalf("bitlkDump: %v\n%s", err, out)
			}
			f := openSample(t, s)
			if got, want := ourDump(f.Volume), dumpFacts(t, string(out)); got != want {
				t.Errorf("this package:\n%s\ncryptsetup:\n%s", got, want)
			}
		})
	}
}

var cipherModes = map[Method]string{
	AESCBC128Elephant: "cbc-elephant", AESCBC256Elephant: "cbc-elephant",
	AESCBC128: "cbc-eboiv", AESCBC256: "cbc-eboiv", AESXTS128: "xts-plain64", AESXTS256: "xts-plain64",
}

var protectionText = map[string]string{
	"VMK protected with clear key":           "clear key",
	"VMK protected with TPM":                 "TPM",
	"VMK protected with startup key":         "startup key",
	"VMK protected with TPM and PIN":         "TPM and PIN",
	"VMK protected with recovery passphrase": "recovery password",
	"VMK protected with passphrase":          "password",
}

func ourDump(v *Volume) string {
	var b strings.Builder
	fmt.Fprintf(&b, "guid %s\nsector %d\nmode %s\n", v.GUID, v.SectorSize, cipherModes[v.Method])
	for _, p := range v.Protectors {
		fmt.Fprintf(&b, "vmk %s %s\n", p.ID, p.Type)
	}
	for _, o := range v.MetadataOffsets {
		fmt.Fprintf(&b, "metadata %d\n", o)
	}
	fmt.Fprintf(&b, "header %d %d\n", v.HeaderOffset, v.HeaderSize)
	return b.String()
}

// dumpFacts turns bitlkDump's text into ourDump's form.
func dumpFacts(t *testing.T, out string) string {
	field := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `:\s*(.*)$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("bitlkDump has no %s", name)
		}
		return strings.TrimSpace(m[1])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "guid %s\nsector %s\nmode %s\n", field("GUID"), strings.Fields(field("Sector size"))[0], field("Cipher mode"))
	slot := regexp.MustCompile(`(?m)^\s+GUID:\s*(\S+)\n\s+Protection:\s*(.*)$`)
	for _, m := range slot.FindAllStringSubmatch(out, -1) {
		fmt.Fprintf(&b, "vmk %s %s\n", m[1], protectionText[strings.TrimSpace(m[2])])
	}
	seg := regexp.MustCompile(`(?m)^\s+\d+: (FVE metadata area|Volume header)\n\s+Offset:\s*(\d+) \[bytes\]\n\s+Size:\s*(\d+)`)
	var hdr string
	for _, m := range seg.FindAllStringSubmatch(out, -1) {
		if m[1] == "Volume header" {
			hdr = fmt.Sprintf("header %s %s\n", m[2], m[3])
			continue
		}
		off, _ := strconv.ParseInt(m[2], 10, 64)
		fmt.Fprintf(&b, "metadata %d\n", off)
	}
	b.WriteString(hdr)
	return b.String()
}
