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
