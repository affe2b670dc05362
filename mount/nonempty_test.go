//go:build linux

package mount

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestNonEmptyMountPointRefused(t *testing.T) {
	src, mnt := t.TempDir(), t.TempDir()
	if err := checkMountpoint(src, mnt, false); err != nil {
		t.Fatalf("empty mount point: %v", err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "keep.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkMountpoint(src, mnt, false); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("non-empty mount point: %v, want ErrNotEmpty", err)
	}
	var o Options
	if err := o.Parse("ro,nonempty"); err != nil || !o.Nonempty {
		t.Fatalf("-o nonempty: %v %+v", err, o)
	}
	if err := checkMountpoint(src, mnt, o.Nonempty); err != nil {
		t.Errorf("-o nonempty: %v", err)
	}
}
