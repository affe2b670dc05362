package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// ntfsDisk writes a VHDX holding a fresh NTFS volume (no partition table)
// after damage(raw, mftOffset) changed its bytes.
func ntfsDisk(t *testing.T, damage func(raw []byte, mft int), files ...string) string {
	t.Helper()
	testutil.NeedTool(t, "mkntfs")
	dir := t.TempDir()
	img := filepath.Join(dir, "vol.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16<<20); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "mkntfs", "-q", "-F", "-Q", img)
	testutil.NeedTool(t, "ntfscp")
	if len(files) == 0 {
		files = []string{"hello.txt"}
	}
	for _, f := range files { // "name" (content: the name) or "name:stream" (20 KiB)
		name, stream, isStream := strings.Cut(f, ":")
		src := filepath.Join(dir, "src")
		content := []byte(name)
		args := []string{"-f", img, src, name}
		if isStream {
			content = bytes.Repeat([]byte("s"), 20<<10)
			args = append(args, "-N", stream)
			if err := os.WriteFile(src, []byte(name), 0o644); err != nil {
				t.Fatal(err)
			}
			testutil.Run(t, "ntfscp", "-f", img, src, name)
		}
		if err := os.WriteFile(src, content, 0o644); err != nil {
			t.Fatal(err)
		}
		testutil.Run(t, "ntfscp", args...)
	}
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	bps := int(binary.LittleEndian.Uint16(raw[11:]))
	mft := int(binary.LittleEndian.Uint64(raw[0x30:])) * int(raw[13]) * bps
	damage(raw, mft)
	p := filepath.Join(dir, "Disk0.vhdx")
	w, err := vhdx.Create(p, vhdx.CreateOptions{VirtualSize: int64(len(raw)), BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt(raw, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckGuestVolumes: check opens and walks the guest volumes, so a
// disk whose VHDX structures are clean but whose NTFS volume is damaged
// is not "clean" (200 NTFS mutants were), in text and --json.
func TestCheckGuestVolumes(t *testing.T) {
	clean := ntfsDisk(t, func([]byte, int) {})
	out, errs, code := ckptfs(t, "check", clean)
	if code != exitOK || !strings.Contains(out, "1 guest volume ") {
		t.Fatalf("clean NTFS: exit %d\n%s%s", code, out, errs)
	}
	for _, c := range []struct {
		name string
		rec  int // MFT record whose update sequence is broken
		want string
	}{
		{"MFT record 0", 0, "cannot be read"},
		{"root directory", 5, "ntfs"},
		{"a file's record", -1, "hello.txt: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			disk := ntfsDisk(t, func(raw []byte, mft int) {
				rec := c.rec
				if rec < 0 { // the record naming hello.txt in its $FILE_NAME
					name := []byte("h\x00e\x00l\x00l\x00o\x00.\x00t\x00x\x00t\x00")
					at := bytes.Index(raw[mft:min(len(raw), mft+4<<20)], name)
					if at < 0 {
						t.Fatal("hello.txt's record not found")
					}
					rec = at / 1024
				}
				raw[mft+rec*1024+510] ^= 0xff
			})
			out, _, code := ckptfs(t, "check", disk)
			if code != exitProblems || !strings.Contains(out, "volume Disk0-vol (ntfs)") || !strings.Contains(out, c.want) {
				t.Fatalf("exit %d\n%s", code, out)
			}
			out, _, code = ckptfs(t, "check", "--json", disk)
			var js struct {
				Clean   bool
				Volumes []volumeReport
			}
			if err := json.Unmarshal([]byte(out), &js); err != nil || code != exitProblems || js.Clean ||
				len(js.Volumes) != 1 || len(js.Volumes[0].Problems) == 0 {
				t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
			}
			t.Logf("%s", js.Volumes[0].Problems)
			if c.rec == 0 { // cat names the reason the volume is left out
				_, errs, code := ckptfs(t, "cat", disk, "Now", "Disk0-vol/hello.txt")
				if code != exitBadImage || !strings.Contains(errs, "cannot be read") || !strings.Contains(errs, "update sequence") {
					t.Errorf("cat from the unreadable volume: exit %d: %s", code, errs)
				}
			}
		})
	}
}

// TestCheckCountsOddNames: NTFS names that cannot be shown as stored
// (here a "/" written into the index and the record, and a name listed
// twice) are listed and read under the renaming rule of checkpoint names,
// and counted and named by check.
func TestCheckCountsOddNames(t *testing.T) {
	u16 := func(s string) []byte {
		var b []byte
		for _, c := range s {
			b = append(b, byte(c), 0)
		}
		return b
	}
	disk := ntfsDisk(t, func(raw []byte, mft int) {
		// (ab.txt's index entry straddles a sector end, where the
		// update sequence hides two bytes: it is left alone)
		for from, to := range map[string]string{"0slash.txt": "0sl/sh.txt", "bbbbb.txt": "aaaaa.txt"} {
			if n := bytes.Count(raw, u16(from)); n < 2 {
				t.Fatalf("%s found %d times", from, n)
			}
			for i := bytes.Index(raw, u16(from)); i >= 0; i = bytes.Index(raw, u16(from)) {
				copy(raw[i:], u16(to))
			}
		}
	}, "0slash.txt", "aaaaa.txt", "ab.txt", "bbbbb.txt")
	out, _, code := ckptfs(t, "check", "--json", disk)
	var js struct{ Volumes []volumeReport }
	if err := json.Unmarshal([]byte(out), &js); err != nil || code != exitProblems || len(js.Volumes) != 1 || js.Volumes[0].OddNames != 2 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	text, _, _ := ckptfs(t, "check", disk)
	if !strings.Contains(text, `"0sl_sh.txt" is stored as "0sl/sh.txt"`) || !strings.Contains(text, `"aaaaa.txt (2)" is stored as "aaaaa.txt"`) {
		t.Errorf("text:\n%s", text)
	}
	// Both are shown and read under those names (cat uses the same reader
	// as the mount and cp).
	for name, want := range map[string]string{"0sl_sh.txt": "0slash.txt", "aaaaa.txt (2)": "bbbbb.txt", "aaaaa.txt": "aaaaa.txt"} {
		if out, errs, code := ckptfs(t, "cat", disk, "Now", "Disk0-vol/"+name); code != exitOK || out != want {
			t.Errorf("cat %s: exit %d, %q %s", name, code, out, errs)
		}
	}
}
