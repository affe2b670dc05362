package guest

import (
	"bytes"
	"io"
	"testing"

	"github.com/ckptfs/ckptfs/bitlocker"
)

// viewDisk is a disk that shows views of its bytes, as vhdx.Chain does.
type viewDisk struct {
	*bytes.Reader
	b []byte
}

func (d viewDisk) Views(off int64, n int) ([][]byte, bool) {
	if off < 0 || off+int64(n) > int64(len(d.b)) {
		return nil, false
	}
	return [][]byte{d.b[off : off+int64(n)]}, true
}

// TestWithViews checks the partition window handed to the BitLocker
// reader: it shows the disk's views shifted by the partition's offset and
// clipped to its end, and a window over a disk without views, or a
// reader that is no window, stays as it was.
func TestWithViews(t *testing.T) {
	b := make([]byte, 1<<16)
	for i := range b {
		b[i] = byte(i / 7)
	}
	disk := viewDisk{bytes.NewReader(b), b}
	w := withViews(io.NewSectionReader(disk, 4096, 8192), 8192)
	vw, ok := w.(bitlocker.Viewer)
	if !ok {
		t.Fatal("a window over a disk with views shows none")
	}
	views, ok := vw.Views(512, 1<<20)
	if !ok || len(views) != 1 || !bytes.Equal(views[0], b[4096+512:4096+8192]) {
		t.Fatalf("views of [512, end): %v, %d pieces", ok, len(views))
	}
	if _, ok := vw.Views(8193, 1); ok {
		t.Error("a view past the window's end")
	}
	if _, ok := vw.Views(-1, 1); ok {
		t.Error("a view before the window")
	}
	if _, ok := withViews(io.NewSectionReader(bytes.NewReader(b), 0, 8192), 8192).(bitlocker.Viewer); ok {
		t.Error("a window over a disk without views shows views")
	}
	r := bytes.NewReader(b)
	if withViews(r, int64(len(b))) != io.ReaderAt(r) {
		t.Error("a reader that is no window was wrapped")
	}
}
