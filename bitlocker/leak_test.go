package bitlocker

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestNoKeyInOutput runs every way a key reaches this package (right and
// wrong passwords, recovery passwords, startup keys, malformed ones) and
// greps all the text that comes out (errors, and every fmt verb over
// keys, readers and volumes) for the key material: the passwords and each
// recovery group, the startup key, and the volume master and full-volume
// keys themselves.
func TestNoKeyInOutput(t *testing.T) {
	s, f, size := xtsSample(t)
	var out strings.Builder
	say := func(a ...any) { fmt.Fprintln(&out, a...) }
	v, err := NewVolume(f, size)
	if err != nil {
		t.Fatal(err)
	}
	pw := Password(s.pw)
	rp, err := RecoveryPassword(s.rp)
	if err != nil {
		t.Fatal(err)
	}
	wrongRP, _ := RecoveryPassword("000011-000022-000033-000044-000055-000066-000077-000088")
	bekPath := strings.Replace(s.path, "bitlk-aes-xts-128.img", "4381F759-C4F8-4DE0-BB61-FC33A831BDA5.BEK", 1)
	bek, err := os.ReadFile(bekPath)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := StartupKey(bek)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []Key{pw, rp, sk} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
			say(fmt.Sprintf(verb, k), fmt.Sprintf(verb, &k), fmt.Sprintf(verb, []Key{k}))
		}
	}
	for _, keys := range [][]Key{nil, {Password(s.pw + "x")}, {wrongRP, sk}, {pw}, {rp}} {
		r, err := v.Unlock(keys...)
		say(err)
		if r != nil {
			say(fmt.Sprintf("%v %+v %#v %s", r, r, r, r))
		}
	}
	for _, bad := range []string{s.rp[:54] + "0", s.rp[:20], strings.ReplaceAll(s.rp, "-", "+")} {
		_, err := RecoveryPassword(bad)
		say(err)
	}
	_, err = StartupKey(bek[:100])
	say(err)
	say(fmt.Sprintf("%v %+v %#v", v, v, v))

	// The secrets, as text and as hex.
	secrets := []string{s.pw, s.rp, hex.EncodeToString(sk.secret), string(sk.secret)}
	secrets = append(secrets, strings.Split(s.rp, "-")...)
	for _, p := range v.Protectors {
		if p.Type != ProtPassword {
			continue
		}
		vmk, err := v.openProtector(p, []Key{pw})
		if err != nil || vmk == nil {
			t.Fatalf("opening the password protector: %v", err)
		}
		fvek, err := openKeyDatum(vmk, v.md.fvek, 0, 32)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, hex.EncodeToString(vmk), string(vmk), hex.EncodeToString(fvek), string(fvek),
			hex.EncodeToString(pw.secret), hex.EncodeToString(rp.secret))
	}
	text := out.String()
	lower := strings.ToLower(text)
	for _, sec := range secrets {
		if strings.Contains(text, sec) || strings.Contains(lower, strings.ToLower(sec)) {
			t.Errorf("key material (%d bytes) appears in the output", len(sec))
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output checked: %d bytes", len(text))
	}
}
