package mount

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	var o Options
	if err := o.Parse("ro,allow_other, debug,,default_permissions"); err != nil {
		t.Fatal(err)
	}
	if err := o.Parse("uid=1000"); err != nil {
		t.Fatal(err)
	}
	if !o.AllowOther || !o.Debug || !slices.Equal(o.Extra, []string{"default_permissions", "uid=1000"}) {
		t.Errorf("parsed %+v", o)
	}
	if err := o.Parse("allow_other,rw"); !errors.Is(err, ErrOption) {
		t.Errorf("rw: %v, want ErrOption", err)
	}
}

func TestParseReadAhead(t *testing.T) {
	var o Options
	if o.readAheadKB() != defaultReadAheadKB {
		t.Errorf("default read-ahead %d", o.readAheadKB())
	}
	if err := o.Parse("allow_other,read_ahead_kb=512"); err != nil {
		t.Fatal(err)
	}
	if o.readAheadKB() != 512 || len(o.Extra) != 0 {
		t.Errorf("parsed %+v", o)
	}
	for _, bad := range []string{"read_ahead_kb", "read_ahead_kb=", "read_ahead_kb=0", "read_ahead_kb=-4", "read_ahead_kb=1x", "read_ahead_kb=2097152"} {
		if err := o.Parse(bad); !errors.Is(err, ErrOption) {
			t.Errorf("%s: %v, want ErrOption", bad, err)
		}
	}
}

func TestParseNoRecovery(t *testing.T) {
	for _, s := range []string{"norecovery", "ro,noload"} {
		var o Options
		if err := o.Parse(s); err != nil {
			t.Fatal(err)
		}
		if !o.NoRecovery || len(o.Extra) != 0 {
			t.Errorf("%s: parsed %+v", s, o)
		}
	}
}

// TestWarnings: allow_other alone warns that guest permissions are not
// enforced; with default_permissions, or without allow_other, nothing.
func TestWarnings(t *testing.T) {
	for _, c := range []struct {
		opts string
		warn bool
	}{{"allow_other", true}, {"allow_other,default_permissions", false}, {"default_permissions", false}, {"ro", false}} {
		var o Options
		if err := o.Parse(c.opts); err != nil {
			t.Fatal(err)
		}
		w := o.Warnings()
		if (len(w) > 0) != c.warn || (c.warn && !strings.Contains(w[0], "default_permissions")) {
			t.Errorf("-o %s: warnings %q", c.opts, w)
		}
	}
}

// TestParseCacheMem: -o cache_mem=SIZE takes sizes as --cache-mem does,
// 0 included (no bound beyond each volume's own).
func TestParseCacheMem(t *testing.T) {
	for s, want := range map[string]int64{"cache_mem=256M": 256 << 20, "ro,cache_mem=1G": 1 << 30, "cache_mem=0": 0, "cache_mem=65536": 65536, "cache_mem=64MiB": 64 << 20} {
		var o Options
		if err := o.Parse(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if !o.CacheMemSet || o.CacheMem != want || len(o.Extra) != 0 {
			t.Errorf("%s: parsed %+v", s, o)
		}
	}
	for _, bad := range []string{"cache_mem", "cache_mem=", "cache_mem=-1", "cache_mem=1X", "cache_mem=lots"} {
		var o Options
		if err := o.Parse(bad); !errors.Is(err, ErrOption) {
			t.Errorf("%s: %v, want ErrOption", bad, err)
		}
	}
}
