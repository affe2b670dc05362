//go:build linux

package exfat

import (
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// variants are the images of testdata/exfat/gen.sh the oracle tests read.
var variants = []string{"c512", "c4k", "c128k", "tz"}

// fixture returns testdata/out/exfat/VARIANT.img, built when missing.
func fixture(t testing.TB, variant string) string {
	t.Helper()
	return testutil.ExFATImage(t, variant)
}

// openFixture opens an image with this package.
func openFixture(t testing.TB, img string) *FS {
	t.Helper()
	v, err := Open(img)
	if err != nil {
		t.Fatalf("Open %s: %v", img, err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// fuseMount mounts img read-only with mount.exfat-fuse, in the zone it
// was written in.
func fuseMount(t testing.TB, img, tz string) string {
	return testutil.ExFATFuseMount(t, img, tz)
}

// tzOf is the zone a variant's tree was written in.
func tzOf(variant string) string {
	if variant == "tz" {
		return "Asia/Kolkata"
	}
	return "UTC"
}
