package main

import (
	"strings"
	"testing"
)

func TestFlagAndArgumentErrorsAreNamed(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"ls", "/nonexistent", "--jsn"}, "unknown flag: --jsn"},
		{[]string{"cat", "--bogus", "a", "b", "c"}, "unknown flag: --bogus"},
		{[]string{"cat", "SRC"}, "missing arguments CHECKPOINT VOL/PATH"},
		{[]string{"cat", "SRC", "Now"}, "missing argument VOL/PATH"},
		{[]string{"cp", "SRC", "Now"}, "missing arguments VOL/PATH DEST"},
		{[]string{"ls"}, "missing argument SRC"},
		{[]string{"ls", "a", "b", "c", "d"}, "too many arguments: 4 given, at most 3 expected (SRC [CHECKPOINT VOL/PATH])"},
		{[]string{"info", "a", "b"}, "too many arguments: 2 given, 1 expected (SRC|DISK)"},
		{[]string{"diff", "SRC", "A"}, "missing argument B"},
	}
	for _, c := range cases {
		_, errs, code := ckptfs(t, c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", c.args, code, exitUsage)
		}
		if !strings.Contains(errs, c.want) || !strings.Contains(errs, "usage: ckptfs "+c.args[0]) {
			t.Errorf("%v: stderr %q lacks %q and the usage line", c.args, errs, c.want)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		out, _, code := ckptfs(t, arg)
		if code != exitOK || !strings.HasPrefix(out, "ckptfs ") || !strings.Contains(out, "built with go") || !strings.Contains(out, "FUSE: ") {
			t.Errorf("%s: exit %d, output %q", arg, code, out)
		}
	}
}

func TestOptionalPositionals(t *testing.T) {
	for synopsis, want := range map[string]string{
		"SRC [CHECKPOINT [VOL/PATH]] [--json]":                    "CHECKPOINT VOL/PATH",
		"SRC CHECKPOINT -o OUT [--format vhdx|raw] [--base A]":    "",
		"SRC [--listen HOST:PORT | --socket PATH] [--tls-cert F]": "",
		"SRC|DISK [--json]": "",
	} {
		if got := strings.Join(optionalPositionals(synopsis), " "); got != want {
			t.Errorf("%s: %q, want %q", synopsis, got, want)
		}
	}
}
