package diff

import (
	"path/filepath"

	"github.com/ckptfs/ckptfs/vhdx"
)

// sameLayer reports whether two opened layers are one file. Layers of one
// catalog are shared objects; the name comparison covers chains opened
// separately.
func sameLayer(x, y *vhdx.Disk) bool {
	if x == y {
		return true
	}
	return x.Name != "" && filepath.Clean(x.Name) == filepath.Clean(y.Name)
}

// exclusive returns the layers of from that to does not have. For two
// states of one disk these are the layers above their common ancestor.
func exclusive(from, to []*vhdx.Disk) []*vhdx.Disk {
	var out []*vhdx.Disk
	for _, d := range from {
		shared := false
		for _, e := range to {
			if sameLayer(d, e) {
				shared = true
				break
			}
		}
		if !shared {
			out = append(out, d)
		}
	}
	return out
}

// layerIn reports whether d is one of set.
func layerIn(d *vhdx.Disk, set []*vhdx.Disk) bool {
	for _, e := range set {
		if sameLayer(d, e) {
			return true
		}
	}
	return false
}

// layerName is what a Range calls a layer: its file name.
func layerName(d *vhdx.Disk) string {
	if d.Name == "" {
		return ""
	}
	return filepath.Base(d.Name)
}
