package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestLUKSCommands opens a disk encrypted whole by cryptsetup (LUKS2, its
// ext4 filesystem inside), wrapped as a VHDX: without a key ls lists it as
// LUKS2, locked, with its key slots; with the passphrase (--key, or a
// --keys file naming a key file) cat and cp read its files; no command
// prints the passphrase.
func TestLUKSCommands(t *testing.T) {
	testutil.NeedTool(t, "qemu-img")
	img := filepath.Join(testutil.LUKSImages(t), "luks2-xts.img")
	dir := t.TempDir()
	src := filepath.Join(dir, "crypt.vhdx")
	if b, err := exec.Command("qemu-img", "convert", "-f", "raw", "-O", "vhdx", img, src).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v %s", err, b)
	}
	const pass = testutil.LUKSPassphrase
	keyFile := filepath.Join(dir, "luks.key")
	keys := filepath.Join(dir, "keys")
	if err := os.WriteFile(keyFile, []byte(pass), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keys, []byte("password:wrong\n"+keyFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	run := func(args ...string) (string, string, int) {
		out, errs, code := ckptfs(t, args...)
		all.WriteString(out + errs)
		return out, errs, code
	}
	out, errs, code := run("ls", src)
	if code != 0 || !strings.Contains(out, "LUKS2, locked (protectors: key slot 0 (argon2id), key slot 1 (pbkdf2-sha512))") {
		t.Fatalf("ls without a key (%d): %s%s", code, out, errs)
	}
	if _, errs, code = run("cat", "--key", "password:wrong", src, "crypt", "Disk0-vol/hello.txt"); code == 0 || !strings.Contains(errs, "locked") {
		t.Errorf("cat with a wrong key (%d): %s", code, errs)
	}
	for _, args := range [][]string{{"--key", "password:" + pass}, {"--keys", keys}, {"--bitlocker", "password:second one"}} {
		out, errs, code = run(append(append([]string{"cat"}, args...), src, "crypt", "Disk0-vol/hello.txt")...)
		if code != 0 || out != "the file inside LUKS\n" {
			t.Errorf("cat %v (%d): %q %s", args[0], code, out, errs)
		}
	}
	dest := t.TempDir()
	if _, errs, code := run("cp", "--keys", keys, src, "crypt", "Disk0-vol/docs", dest); code != 0 {
		t.Fatalf("cp: %s", errs)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "docs", "doc7.txt")); err != nil || string(b) != "document 7\n" {
		t.Errorf("cp copied %q, %v", b, err)
	}
	if strings.Contains(all.String(), pass) || strings.Contains(all.String(), "second one") {
		t.Error("a passphrase appears in the output")
	}
}

// TestLUKSMount mounts the LUKS2 disk with a key file: the ext4 files are
// in the volume directory, volumes/Disk0-vol.raw is the decrypted volume,
// and checkpoint.json says how it was opened.
func TestLUKSMount(t *testing.T) {
	testutil.NeedFUSE(t)
	testutil.NeedTool(t, "qemu-img")
	img := filepath.Join(testutil.LUKSImages(t), "luks2-xts-4k.img")
	plain, err := os.ReadFile(filepath.Join(filepath.Dir(img), "plain.img"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "vol.vhdx")
	testutil.Run(t, "qemu-img", "convert", "-f", "raw", "-O", "vhdx", img, src)
	keys := filepath.Join(dir, "keys")
	if err := os.WriteFile(keys, []byte("password:"+testutil.LUKSPassphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMount(t, nil, "--keys", keys, src)
	cpDir := filepath.Join(m.Dir, "checkpoints", "vol")
	js, jsErr := os.ReadFile(filepath.Join(cpDir, "checkpoint.json"))
	hello, helloErr := os.ReadFile(filepath.Join(cpDir, "Disk0-vol", "hello.txt"))
	raw, rawErr := os.ReadFile(filepath.Join(cpDir, "volumes", "Disk0-vol.raw"))
	stderr := m.Stop()
	if jsErr != nil {
		t.Fatalf("checkpoint.json: %v (%s)", jsErr, stderr)
	}
	var cj struct {
		Volumes []struct {
			Dir, Encryption string
			UnlockedBy      string `json:"unlocked_by"`
		}
	}
	if err := json.Unmarshal(js, &cj); err != nil || len(cj.Volumes) != 1 || cj.Volumes[0].Encryption != "luks2" ||
		cj.Volumes[0].UnlockedBy != "key slot 0" || cj.Volumes[0].Dir != "Disk0-vol" {
		t.Fatalf("checkpoint.json (%v):\n%s", err, js)
	}
	if helloErr != nil || string(hello) != "the file inside LUKS\n" {
		t.Errorf("hello.txt: %q, %v", hello, helloErr)
	}
	if rawErr != nil || len(raw) != 32<<20 || !bytes.Equal(raw[:len(plain)], plain) {
		t.Errorf("volumes/Disk0-vol.raw: %d bytes, %v, or not the decrypted volume", len(raw), rawErr)
	}
	if strings.Contains(stderr+string(js), testutil.LUKSPassphrase) {
		t.Error("the passphrase appears in the output")
	}
}
