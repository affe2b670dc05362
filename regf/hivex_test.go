package regf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// hivexHive writes a hive with hivexsh (libhivex-bin), an independent
// writer: a MountedDevices key as Windows keeps it, values of every kind
// hivexsh writes (inline dwords, cell data, a 1,200-byte value), a key of
// 600 subkeys (several subkey lists) and a key four levels down.
func hivexHive(t *testing.T) string {
	t.Helper()
	testutil.NeedTool(t, "hivexsh")
	p := filepath.Join(t.TempDir(), "SYSTEM")
	if err := os.WriteFile(p, minimalHive(), 0o644); err != nil {
		t.Fatal(err)
	}
	mid := make([]string, 1200)
	for i := range mid {
		mid[i] = fmt.Sprintf("%02x", i%251)
	}
	lines := []string{
		"add MountedDevices", "cd MountedDevices", "setval 4",
		`\DosDevices\C:`, "hex:3:44,4d,49,4f,3a,49,44,3a,01,02,03,04,05,06,07,08,09,0a,0b,0c,0d,0e,0f,10",
		`\DosDevices\D:`, "hex:3:78,56,34,12,00,00,10,00,00,00,00,00",
		"Text", "string:hello",
		"@", "dword:0x01020304",
		"cd ..", "add Select", "cd Select", "setval 2",
		"Current", "dword:1",
		"Mid", "hex:3:" + strings.Join(mid, ","),
		"cd ..", "add Many", "cd Many",
	}
	for i := range 600 {
		lines = append(lines, fmt.Sprintf("add k%04d", i))
	}
	lines = append(lines, "cd k0007", "add Deeper", "cd Deeper", "add last", "cd last", "setval 1", "q", "hex:11:08,07,06,05,04,03,02,01", "commit")
	cmd := exec.Command("hivexsh", "-w", p)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hivexsh: %v\n%s", err, out)
	}
	return p
}

// lsval formats values as hivexsh's lsval prints them.
func lsval(vals []Value) string {
	var b strings.Builder
	for _, v := range vals {
		name := v.Name
		if name == "" {
			name = "@"
		}
		fmt.Fprintf(&b, "%q=", name)
		switch {
		case v.Type == TypeString:
			fmt.Fprintf(&b, "%q", v.String())
		case v.Type == TypeDword && len(v.Data) == 4:
			fmt.Fprintf(&b, "dword:%08x", binary.LittleEndian.Uint32(v.Data))
		default:
			hex := make([]string, len(v.Data))
			for i, c := range v.Data {
				hex[i] = fmt.Sprintf("%02x", c)
			}
			fmt.Fprintf(&b, "hex(%d):%s", v.Type, strings.Join(hex, ","))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestHivex walks a hive hivexsh wrote and compares every key's subkeys
// and values with what hivexsh lists.
func TestHivex(t *testing.T) {
	p := hivexHive(t)
	h, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.Dirty {
		t.Error("a hive hivexsh committed is dirty")
	}
	// Every key: ours, then hivexsh's view of it, in one script.
	var script, want strings.Builder
	keys := 0
	var walk func(k *Key, path string)
	walk = func(k *Key, path string) {
		keys++
		subs, err := k.Subkeys()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		vals, err := k.Values()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		fmt.Fprintf(&script, "cd %s\nlsval\nls\n", `\`+path)
		want.WriteString(lsval(vals))
		for _, s := range subs {
			want.WriteString(s.Name + "\n")
		}
		for _, s := range subs {
			walk(s, strings.TrimPrefix(path+`\`+s.Name, `\`))
		}
	}
	root, err := h.Root()
	if err != nil {
		t.Fatal(err)
	}
	walk(root, "")
	cmd := exec.Command("hivexsh", p)
	cmd.Stdin = strings.NewReader(script.String())
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("hivexsh: %v", err)
	}
	if string(got) != want.String() {
		t.Errorf("keys and values differ from hivexsh's:\nours:\n%.2000s\nhivexsh:\n%.2000s", want.String(), got)
	}
	if keys != 1+3+600+2 {
		t.Errorf("%d keys walked", keys)
	}
	// Lookups by path and name, without regard to case.
	k, err := h.Key(`mounteddevices`)
	if err != nil {
		t.Fatal(err)
	}
	v, err := k.Value(`\dosdevices\c:`)
	if err != nil || string(v.Data[:8]) != "DMIO:ID:" || v.Type != TypeBinary {
		t.Errorf(`\DosDevices\C: %q %v`, v.Data, err)
	}
	if _, err := h.Key(`Many/K0007\deeper\LAST`); err != nil {
		t.Error(err)
	}
	if _, err := h.Key(`Many\k9999`); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	if _, err := k.Value("nothing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing value: %v", err)
	}
}
