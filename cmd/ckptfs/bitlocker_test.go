package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/bltest"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// blOutput collects everything the commands print, to grep for keys.
type blOutput struct{ all strings.Builder }

func (o *blOutput) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	out, errs, code := ckptfs(t, args...)
	o.all.WriteString(out)
	o.all.WriteString(errs)
	return out, errs, code
}

// noKeys fails when any key of fx shows in text.
func noKeys(t *testing.T, fx *bltest.Fixture, text string) {
	t.Helper()
	bek, err := os.ReadFile(fx.BEK)
	if err != nil {
		t.Fatal(err)
	}
	secrets := append([]string{fx.Password, fx.Recovery, hex.EncodeToString(bek[len(bek)-32:])}, strings.Split(fx.Recovery, "-")...)
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("key material (%d characters) appears in the output", len(s))
		}
	}
}

// TestBitLockerCommands unlocks a BitLocker volume (a GPT partition of a
// VHDX) through ls, info, cat, cp and check with each kind of key, on the
// command line and from a file; without a key the volume is listed as
// locked with its protectors, and cat names it and says why.
func TestBitLockerCommands(t *testing.T) {
	fx := bltest.Build(t, 2)
	src := fx.GPTVHDX
	keyFile := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keyFile, []byte("# keys\npassword:wrong\n\n"+fx.Recovery+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var o blOutput

	out, errs, code := o.run(t, "ls", src)
	if code != 0 || !strings.Contains(out, "Disk0-p1: BitLocker, locked (protectors: password, recovery password, startup key)") {
		t.Fatalf("ls without a key (%d): %s%s", code, out, errs)
	}
	out, _, _ = o.run(t, "ls", "--json", "--bitlocker-keys", keyFile, src)
	var ls lsJSON
	if err := json.Unmarshal([]byte(out), &ls); err != nil {
		t.Fatal(err)
	}
	enc := ls.VMs[0].Checkpoints[0].Encrypted
	if len(enc) != 1 || enc[0].Locked || enc[0].UnlockedBy != "recovery password" || enc[0].Encryption != "bitlocker" {
		t.Fatalf("ls --json with the key file: %s", out)
	}
	out, _, code = o.run(t, "info", src)
	if code != 0 || !strings.Contains(out, "-p1: BitLocker, locked (protectors: password, recovery password, startup key)") {
		t.Errorf("info without a key: %s", out)
	}

	_, errs, code = o.run(t, "cat", src, "disk", "Disk0-p1/HELLO.TXT")
	if code == 0 || !strings.Contains(errs, "Disk0-p1") || !strings.Contains(errs, "locked") {
		t.Errorf("cat without a key (%d): %s", code, errs)
	}
	_, errs, code = o.run(t, "cat", "--bitlocker", "password:nope", src, "disk", "Disk0-p1/HELLO.TXT")
	if code == 0 || !strings.Contains(errs, "Disk0-p1") || !strings.Contains(errs, "does not fit") {
		t.Errorf("cat with a wrong key (%d): %s", code, errs)
	}
	_, errs, code = o.run(t, "cat", "--bitlocker", "123456-654321", src, "disk", "Disk0-p1/HELLO.TXT")
	if code != exitUsage || !strings.Contains(errs, "key 1 of 1") {
		t.Errorf("cat with a malformed key (%d): %s", code, errs)
	}
	for _, key := range []string{fx.Recovery, "password:" + fx.Password, fx.BEK} {
		out, errs, code = o.run(t, "cat", "--bitlocker", key, src, "disk", "Disk0-p1/HELLO.TXT")
		if code != 0 || out != fx.Files["HELLO.TXT"] {
			t.Errorf("cat with a key (%d): %q %s", code, out, errs)
		}
	}
	dest := t.TempDir()
	if _, errs, code := o.run(t, "cp", "--bitlocker-keys", keyFile, src, "disk", "Disk0-p1/DIR", dest); code != 0 {
		t.Fatalf("cp: %s", errs)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "DIR", "NOTE.TXT")); err != nil || string(b) != fx.Files["DIR/NOTE.TXT"] {
		t.Errorf("cp copied %q, %v", b, err)
	}
	out, errs, code = o.run(t, "check", "--bitlocker", fx.BEK, src)
	if code != 0 {
		t.Errorf("check with the key (%d): %s%s", code, out, errs)
	}
	if out, _, code = o.run(t, "check", src); code != exitProblems || !strings.Contains(out, "locked") {
		t.Errorf("check without the key (%d): %s", code, out)
	}
	noKeys(t, fx, o.all.String())
}

// TestBitLockerMount mounts a VHDX holding a BitLocker volume alone, with
// the key file and without: unlocked, its files are in the volume
// directory and checkpoint.json says how it was opened; locked, it has no
// directory and checkpoint.json lists it as BitLocker, locked, with its
// protectors.
func TestBitLockerMount(t *testing.T) {
	testutil.NeedFUSE(t)
	fx := bltest.Build(t, 3)
	keyFile := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keyFile, []byte("password:"+fx.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, withKey := range []bool{true, false} {
		var args []string
		if withKey {
			args = []string{"--bitlocker-keys", keyFile}
		}
		m := startMount(t, nil, append(args, fx.VHDX)...)
		cpDir := filepath.Join(m.Dir, "checkpoints", "vol")
		js, jsErr := os.ReadFile(filepath.Join(cpDir, "checkpoint.json"))
		hello, helloErr := os.ReadFile(filepath.Join(cpDir, "Disk0-vol", "HELLO.TXT"))
		raw, rawErr := os.ReadFile(filepath.Join(cpDir, "volumes", "Disk0-vol.raw"))
		stderr := m.Stop()
		all.WriteString(stderr)
		all.Write(js)
		if jsErr != nil {
			t.Fatalf("checkpoint.json: %v (%s)", jsErr, stderr)
		}
		var cj struct {
			Volumes []struct {
				Name, Dir, Encryption string
				UnlockedBy            string `json:"unlocked_by"`
				Locked                bool
				Protectors            []string
			}
		}
		if err := json.Unmarshal(js, &cj); err != nil || len(cj.Volumes) != 1 {
			t.Fatalf("checkpoint.json: %v\n%s", err, js)
		}
		v := cj.Volumes[0]
		if withKey {
			if helloErr != nil || string(hello) != fx.Files["HELLO.TXT"] || v.Dir != "Disk0-vol" || v.UnlockedBy != "password" {
				t.Errorf("mounted with the key: %q %v; %s", hello, helloErr, js)
			}
			if rawErr != nil || !bytes.Equal(raw, fx.View) {
				t.Errorf("volumes/Disk0-vol.raw is not the decrypted volume (%d bytes, %v)", len(raw), rawErr)
			}
			continue
		}
		if helloErr == nil || v.Dir != "" || !v.Locked || strings.Join(v.Protectors, ",") != "password,recovery password,startup key" {
			t.Errorf("mounted without a key: %v; %s", helloErr, js)
		}
	}
	noKeys(t, fx, all.String())
}
