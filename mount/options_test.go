package mount

import (
	"errors"
	"slices"
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
