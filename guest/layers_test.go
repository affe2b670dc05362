package guest

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/exttest"
)

// xorLayer is a toy "encryption" for the pipeline tests: a volume whose
// first bytes are "XORVOL01" holds, from byte 512, another volume with
// every byte XORed with the key byte in Options.Keys[0].
type xorReader struct {
	r   io.ReaderAt
	key byte
}

func (x xorReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := x.r.ReadAt(p, off+512)
	for i := range p[:n] {
		p[i] ^= x.key
	}
	return n, err
}

var xorLayer = Layer{Name: "xor", Unwrap: func(v *Volume, probe []byte, o *Options) (io.ReaderAt, int64, bool, error) {
	if len(probe) < 8 || string(probe[:8]) != "XORVOL01" {
		return nil, 0, false, nil
	}
	v.Encryption = "xor"
	if o == nil || len(o.Keys) == 0 || len(o.Keys[0]) != 1 {
		return nil, 0, true, ErrLocked
	}
	return xorReader{v.Reader, o.Keys[0][0]}, v.Size - 512, true, nil
}}

// twinLayer gives every readable volume one shadow copy: itself, taken at
// a fixed time.
var twinTime = time.Date(2020, 7, 25, 12, 26, 4, 0, time.UTC)

var twinLayer = Layer{Name: "twin", Siblings: func(v *Volume, o *Options) ([]*Volume, error) {
	if v.FS == nil {
		return nil, nil
	}
	return []*Volume{{Name: ShadowName(v.Name, twinTime), Reader: v.Reader, Size: v.Size,
		ShadowOf: v.Name, Created: twinTime}}, nil
}}

// withLayers runs f with the given layers registered instead of the
// package's own.
func withLayers(t *testing.T, ls ...Layer) {
	t.Helper()
	saved := layers
	layers = nil
	for _, l := range ls {
		registerLayer(l)
	}
	t.Cleanup(func() { layers = saved })
}

// TestLayerPipeline wraps an ext4 volume in the toy layer: without the key
// the volume is listed locked, with it the filesystem beneath is opened
// and a sibling layer adds its shadow copy beside it.
func TestLayerPipeline(t *testing.T) {
	im := exttest.Make(t, exttest.Opts{BlockSize: 1024, KiB: 1024, Tiny: true})
	const key = 0x5a
	wrapped := make([]byte, 512+len(im.B))
	copy(wrapped, "XORVOL01")
	for i, c := range im.B {
		wrapped[512+i] = c ^ key
	}
	withLayers(t, xorLayer, twinLayer)
	disk := bytes.NewReader(wrapped)

	vols, err := Volumes(disk, int64(len(wrapped)), "D")
	if err != nil || len(vols) != 1 {
		t.Fatalf("volumes %v, %v", vols, err)
	}
	v := vols[0]
	if !v.Locked || v.FS != nil || !errors.Is(v.Err, ErrLocked) || v.Encryption != "xor" ||
		len(v.Layers) != 1 || v.Layers[0] != "xor" {
		t.Errorf("without a key: %+v", v)
	}

	o := &Options{Keys: []string{string([]byte{key})}}
	vols, err = o.Volumes(disk, int64(len(wrapped)), "D")
	if err != nil || len(vols) != 2 {
		t.Fatalf("volumes %v, %v", vols, err)
	}
	v, s := vols[0], vols[1]
	if v.Locked || v.FS == nil || v.FSType != fsExt4 || v.Size != int64(len(im.B)) || !v.Remapped {
		t.Fatalf("with the key: %+v", v)
	}
	if _, err := fs.Stat(v.FS, "sub/numbers.txt"); err != nil {
		t.Error(err)
	}
	if s.Name != "D-vol@2020-07-25T12.26.04" || s.ShadowOf != "D-vol" || !s.IsShadow() || s.FS == nil ||
		!s.Remapped || len(s.Layers) != 2 || s.Layers[1] != "twin" {
		t.Errorf("shadow: %+v", s)
	}
}

// TestLayerErrors: a sibling layer's error becomes a volume of its own,
// and a layer that claims bytes without giving a volume is a format error.
func TestLayerErrors(t *testing.T) {
	im := exttest.Make(t, exttest.Opts{BlockSize: 1024, KiB: 1024, Tiny: true})
	bad := errors.New("store damaged")
	withLayers(t, Layer{Name: "broken", Siblings: func(*Volume, *Options) ([]*Volume, error) { return nil, bad }},
		Layer{Name: "empty", Unwrap: func(v *Volume, probe []byte, o *Options) (io.ReaderAt, int64, bool, error) {
			return nil, 0, len(probe) > 1024 && probe[1024+0x38] == 0x53, nil
		}})
	vols, err := Volumes(bytes.NewReader(im.B), int64(len(im.B)), "D")
	if err != nil || len(vols) != 1 {
		t.Fatalf("volumes %v, %v", vols, err)
	}
	if !errors.Is(vols[0].Err, ErrFormat) {
		t.Errorf("empty unwrap: %v", vols[0].Err)
	}
	layers = layers[:1]
	vols, err = Volumes(bytes.NewReader(im.B), int64(len(im.B)), "D")
	if err != nil || len(vols) != 2 || vols[0].FS == nil || vols[1].Name != "D-vol@broken" || !errors.Is(vols[1].Err, bad) {
		t.Fatalf("volumes %+v, %v", vols, err)
	}
}
