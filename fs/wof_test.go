//go:build linux

package fs

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/internal/wimtest"
)

// TestMountWOF reads every WOF-compressed file of the test volume through
// the mount (XPRESS 4/8/16 KiB and LZX) and compares it with its source;
// a deduplicated file fails with EOPNOTSUPP.
func TestMountWOF(t *testing.T) {
	img, corpus := wimtest.WOFVolume(t)
	vol := mountNTFSWith(t, img, Options{})
	ents, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for _, f := range wimtest.WOFFormats {
		for _, e := range ents {
			want, _ := os.ReadFile(filepath.Join(corpus, e.Name()))
			p := filepath.Join(vol, f.Dir, e.Name())
			got, err := os.ReadFile(p)
			st, err2 := os.Stat(p)
			if err != nil || err2 != nil || !bytes.Equal(got, want) || st.Size() != int64(len(want)) {
				t.Errorf("%s/%s: %d bytes, %v %v", f.Dir, e.Name(), len(got), err, err2)
				continue
			}
			// All data: the unnamed stream's hole is not a hole of the
			// content (cp --sparse must not skip it).
			if fh, err := os.Open(p); err == nil {
				if h, err := fh.Seek(0, seekHole); err != nil || h != int64(len(want)) {
					t.Errorf("%s/%s: SEEK_HOLE at %d, %v", f.Dir, e.Name(), h, err)
				}
				fh.Close()
			}
			// The stream holding the compressed content is not an xattr
			// of the file (cp -a would copy it).
			xbuf := make([]byte, 4096)
			if sz, err := syscall.Listxattr(p, xbuf); err != nil || bytes.Contains(xbuf[:max(sz, 0)], []byte("WofCompressedData")) {
				t.Errorf("%s: xattrs %q (%v) list the WOF stream", p, xbuf[:max(sz, 0)], err)
			}
			right++
		}
	}
	t.Logf("WOF files right through the mount: %d of %d", right, len(ents)*len(wimtest.WOFFormats))
	if _, err := os.ReadFile(filepath.Join(vol, "dedup", "file.txt")); err == nil || !bytes.Contains([]byte(err.Error()), []byte("not supported")) {
		t.Errorf("deduplicated file: %v", err)
	}
}
