package btrfs

import (
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// BuildImages builds testdata/btrfs/gen.sh's images and returns their
// folder. It is exported for the package's external tests.
func BuildImages(t testing.TB) string { return testutil.BtrfsImages(t) }

// ExtentKinds counts the kinds of extents of an open file ("inline",
// "inline-zlib", "regular", "zstd", "prealloc", "hole"), for tests that
// check the images exercise each path.
func ExtentKinds(f *File) map[string]int {
	out := map[string]int{}
	if err := f.data.load(); err != nil {
		return out
	}
	comp := []string{"", "zlib", "lzo", "zstd"}
	for _, e := range f.data.exts {
		k := ""
		switch {
		case e.typ == extInline:
			k = "inline"
		case e.typ == extPrealloc:
			k = "prealloc"
		case e.diskBytenr == 0:
			k = "hole"
		default:
			k = "regular"
		}
		if e.compression != compNone && int(e.compression) < len(comp) {
			k += "-" + comp[e.compression]
		}
		out[k]++
		if e.offset != 0 {
			out["offset"]++
		}
	}
	return out
}
