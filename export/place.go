package export

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// tempName returns an unused name in out's folder, hidden, so the rename
// at the end stays in one file system and a VHDX parent locator written
// relative to it stays right after the rename.
func tempName(out string) (string, error) {
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".tmp-"+hex.EncodeToString(r[:])), nil
}

// place moves tmp to out. Without force it must not replace a file that
// appeared meanwhile: a hard link fails when out exists, atomically; file
// systems without hard links fall back to a check and a rename.
func place(tmp, out string, force bool) error {
	if force {
		return os.Rename(tmp, out)
	}
	err := os.Link(tmp, out)
	switch {
	case err == nil:
		return os.Remove(tmp)
	case errors.Is(err, os.ErrExist):
		return fmt.Errorf("%w: %s", ErrExists, out)
	}
	if _, serr := os.Lstat(out); serr == nil {
		return fmt.Errorf("%w: %s", ErrExists, out)
	}
	return os.Rename(tmp, out)
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		// Some file systems cannot sync a directory (EINVAL); nothing
		// more can be done there.
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
