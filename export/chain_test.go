package export

import (
	"testing"

	"github.com/ckptfs/ckptfs/vhdx"
)

func readImage(t testing.TB, img vhdx.Image) []byte {
	t.Helper()
	b := make([]byte, img.Size())
	if err := readFull(img, b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}
