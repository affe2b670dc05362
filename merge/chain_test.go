package merge

import (
	"testing"

	"github.com/ckptfs/ckptfs/vhdx"
)

func readImage(t testing.TB, img vhdx.Image) []byte {
	t.Helper()
	b := make([]byte, img.Size())
	if _, err := img.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}
