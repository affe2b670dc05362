package guest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// imageDir returns testdata/out/guest, running testdata/guest/gen.sh first
// when the images are missing or older than the script.
func imageDir(t testing.TB) string {
	t.Helper()
	return testutil.GuestImages(t)
}

// openImage opens a generated image read-only.
func openImage(t testing.TB, name string) (*os.File, int64) {
	t.Helper()
	f, err := os.Open(filepath.Join(imageDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return f, st.Size()
}
