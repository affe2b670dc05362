package wimtest

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// WOFFormat is one Windows Overlay Filter compression format: the
// directory its files go to on the test volume, the wimlib compression
// that writes its chunks, the format number of its reparse point and its
// chunk size.
type WOFFormat struct {
	Dir      string
	Compress string
	Algo     uint32
	Chunk    int
}

// WOFFormats are the four formats Windows writes.
var WOFFormats = []WOFFormat{
	{"xpress4k", "XPRESS", 0, 4096},
	{"xpress8k", "XPRESS", 2, 8192},
	{"xpress16k", "XPRESS", 3, 16384},
	{"lzx", "LZX", 1, 32768},
}

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
	stage := filepath.Join(tmp, "stage")
	if err := os.Mkdir(corpus, 0o755); err != nil {
		t.Fatal(err)
	}
	Corpus(t, corpus)
	for _, f := range WOFFormats {
		res := Capture(t, corpus, f.Compress, f.Chunk)
		d := filepath.Join(stage, f.Dir)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		// WOF_EXTERNAL_INFO (version 1, file provider 2), then
		// FILE_PROVIDER_EXTERNAL_INFO_V1 (version 1, format).
		rp := make([]byte, 24)
		binary.LittleEndian.PutUint32(rp, 0x80000017)
		binary.LittleEndian.PutUint16(rp[4:], 16)
		binary.LittleEndian.PutUint32(rp[8:], 1)
		binary.LittleEndian.PutUint32(rp[12:], 2)
		binary.LittleEndian.PutUint32(rp[16:], 1)
		binary.LittleEndian.PutUint32(rp[20:], f.Algo)
		write(t, filepath.Join(d, "reparse.hex"), []byte(hex.EncodeToString(rp)))
		for name, r := range res {
			stored := r.Stored
			if !r.Compressed {
				stored = RawWOF(r.Stored, f.Chunk)
			}
			write(t, filepath.Join(d, name+".wof"), stored)
			write(t, filepath.Join(d, name+".size"), []byte(fmt.Sprint(r.Size)))
		}
	}
	img = filepath.Join(tmp, "wof.img")
	if k := os.Getenv("CKPTFS_WOF_KEEP"); k != "" {
		img = k // keep the image for a look with other tools
	}
	script := filepath.Join(testutil.RepoRoot(), "testdata", "ntfs", "wof.sh")
	if out, err := exec.Command("bash", script, img, stage).CombinedOutput(); err != nil {
		t.Fatalf("wof.sh: %v\n%s", err, out)
	}
	return img, corpus
}

// RawWOF lays out data wimlib kept uncompressed as a WOF stream of raw
// chunks: a chunk table, then the chunks as they are.
func RawWOF(data []byte, chunk int) []byte {
	n := (len(data) + chunk - 1) / chunk
	var b bytes.Buffer
	for i := 1; i < n; i++ {
		binary.Write(&b, binary.LittleEndian, uint32(i*chunk))
	}
	b.Write(data)
	return b.Bytes()
}

func write(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
