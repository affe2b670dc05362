package guest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestHostileISOSystemUse damages the System Use area of the root
// directory's "." record, which go-diskfs parses when it opens the volume,
// in a real Rock Ridge image: a continuation area of 2 GiB (go-diskfs
// allocated it before reading it), and an entry of length 0 (go-diskfs
// steps by the length, and panicked on this one). Each must fail with a
// format error, promptly and without the allocation; the intact image
// lists.
// Caps for the hostile tests: what one damaged volume may cost.
const (
	hostileAllocCap = 64 << 20
	hostileTimeCap  = 20 * time.Second // under the race detector
)

func TestHostileISOSystemUse(t *testing.T) {
	f, size := openImage(t, "cd.iso")
	iso := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), iso); err != nil {
		t.Fatal(err)
	}
	root := int(binary.LittleEndian.Uint32(iso[16*isoBlock+156+2:])) * isoBlock
	su := root + 34 // after the "." record's one-byte name
	if string(iso[su:su+2]) != "SP" || string(iso[su+7:su+9]) != "PX" || iso[su+9] != 36 {
		t.Fatalf("root record's System Use area is not SP then a 36-byte PX: % x", iso[su:su+16])
	}
	px := su + 7
	for _, c := range []struct {
		name  string
		patch func(b []byte)
		text  string
	}{
		{"continuation of 2 GiB", func(b []byte) {
			// go-diskfs follows a CE only as the area's last entry: the
			// record is cut to end with it.
			ce := b[px : px+28]
			copy(ce, "CE\x1c\x01")
			binary.LittleEndian.PutUint32(ce[4:], uint32(root/isoBlock))
			binary.LittleEndian.PutUint32(ce[20:], 0x7d0000ed)
			b[root] = byte(px + 28 - root)
		}, "continuation area of 2097152237 bytes"},
		{"entry of length 0", func(b []byte) { b[px+2] = 0 }, "System Use entry of 0 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := bytes.Clone(iso)
			c.patch(bad)
			var err error
			alloc, took := testutil.Measured(func() {
				vols := volumesOfBytes(t, bad)
				if vols[0].FS == nil {
					err = vols[0].Err
					return
				}
				_, err = fs.ReadDir(vols[0].FS, ".")
			})
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.text) {
				t.Errorf("got %v, want a format error saying %q", err, c.text)
			}
			if alloc > hostileAllocCap || took > hostileTimeCap {
				t.Errorf("%d bytes allocated in %v", alloc, took)
			}
		})
	}
	if _, err := fs.ReadDir(volumesOfBytes(t, iso)[0].FS, "."); err != nil {
		t.Errorf("intact image: %v", err)
	}
}
