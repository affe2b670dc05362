package wim

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// WOFFormat is one Windows Overlay Filter compression format: the
// directory its files go to on a WOF volume, the wimlib compression that
// writes its chunks, the format number of its reparse point and its chunk
// size.
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

// BuildWOFVolume writes img, an NTFS volume of size bytes holding every
// regular file of src (at its top level) as a WOF file in each of formats,
// under <format dir>/<name>. work is a scratch directory (the WIM files
// and streams staged for script); script is testdata/ntfs/wof.sh, which
// writes the volume with mkntfs and ntfs-3g.
func BuildWOFVolume(src, img, work, script string, size int64, formats []WOFFormat) error {
	stage := filepath.Join(work, "stage")
	for _, f := range formats {
		res, err := Capture(src, filepath.Join(work, f.Dir+".wim"), f.Compress, f.Chunk)
		if err != nil {
			return err
		}
		d := filepath.Join(stage, f.Dir)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d, "reparse.hex"), []byte(hex.EncodeToString(wofReparse(f.Algo))), 0o644); err != nil {
			return err
		}
		for name, r := range res {
			if filepath.Dir(name) != "." {
				continue // wof.sh lays out one level
			}
			stored := r.Stored
			if !r.Compressed {
				stored = RawWOF(r.Stored, f.Chunk)
			}
			if err := os.WriteFile(filepath.Join(d, name+".wof"), stored, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(d, name+".size"), []byte(fmt.Sprint(r.Size)), 0o644); err != nil {
				return err
			}
		}
	}
	if out, err := exec.Command("bash", script, img, stage, fmt.Sprint(size)).CombinedOutput(); err != nil {
		return fmt.Errorf("wof.sh: %v\n%s", err, out)
	}
	return nil
}

// wofReparse is the reparse data of a WOF file: WOF_EXTERNAL_INFO
// (version 1, file provider 2), then FILE_PROVIDER_EXTERNAL_INFO_V1
// (version 1, format), behind the reparse header of tag 0x80000017.
func wofReparse(algo uint32) []byte {
	rp := make([]byte, 24)
	binary.LittleEndian.PutUint32(rp, 0x80000017)
	binary.LittleEndian.PutUint16(rp[4:], 16)
	binary.LittleEndian.PutUint32(rp[8:], 1)
	binary.LittleEndian.PutUint32(rp[12:], 2)
	binary.LittleEndian.PutUint32(rp[16:], 1)
	binary.LittleEndian.PutUint32(rp[20:], algo)
	return rp
}

// RawWOF lays out data wimlib kept uncompressed as a WOF stream of raw
// chunks: a chunk table, then the chunks as they are.
func RawWOF(data []byte, chunk int) []byte {
	n := (len(data) + chunk - 1) / chunk
	es := 4
	if len(data) > 1<<32-1 {
		es = 8
	}
	var b bytes.Buffer
	for i := 1; i < n; i++ {
		if es == 4 {
			binary.Write(&b, binary.LittleEndian, uint32(i*chunk))
		} else {
			binary.Write(&b, binary.LittleEndian, uint64(i*chunk))
		}
	}
	b.Write(data)
	return b.Bytes()
}
