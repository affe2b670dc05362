package wimtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/internal/wim"
)

// WOFFormat is one Windows Overlay Filter compression format.
type WOFFormat = wim.WOFFormat

// WOFFormats are the four formats Windows writes.
var WOFFormats = wim.WOFFormats

// WOFVolume builds, in a temporary directory, an NTFS volume of WOF files
// (testdata/ntfs/wof.sh): Corpus captured by wimcapture in every format,
// each file under <format dir>/<name>, plus dedup/file.txt, a file of a
// Data Deduplication volume. It returns the image and the corpus
// directory, the oracle.
func WOFVolume(t testing.TB) (img, corpus string) {
	t.Helper()
	for _, tool := range []string{"mkntfs", "ntfs-3g", "setfattr", "wimcapture"} {
		testutil.NeedTool(t, tool)
	}
	testutil.NeedFUSE(t)
	tmp := t.TempDir()
	corpus = filepath.Join(tmp, "corpus")
	if err := os.Mkdir(corpus, 0o755); err != nil {
		t.Fatal(err)
	}
	Corpus(t, corpus)
	img = filepath.Join(tmp, "wof.img")
	if k := os.Getenv("CKPTFS_WOF_KEEP"); k != "" {
		img = k // keep the image for a look with other tools
	}
	script := filepath.Join(testutil.RepoRoot(), "testdata", "ntfs", "wof.sh")
	if err := wim.BuildWOFVolume(corpus, img, tmp, script, 64<<20, WOFFormats); err != nil {
		t.Fatal(err)
	}
	return img, corpus
}

// RawWOF lays out data wimlib kept uncompressed as a WOF stream of raw
// chunks: a chunk table, then the chunks as they are.
func RawWOF(data []byte, chunk int) []byte { return wim.RawWOF(data, chunk) }
