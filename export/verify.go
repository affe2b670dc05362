package export

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/ckptfs/ckptfs/vhdx"
)

// verify hashes the source and the written file and compares the two.
func (j *job) verify(tmp string) error {
	want, err := HashImage(j.src)
	if err != nil {
		return fmt.Errorf("hashing the source: %w", err)
	}
	var got string
	if j.res.Format == FormatRaw {
		got, err = hashFile(tmp)
	} else {
		var c *vhdx.Chain
		if c, err = vhdx.OpenChain(tmp, vhdx.ChainOptions{}); err == nil {
			got, err = HashImage(c)
			c.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("%w: re-reading %s: %v", ErrVerify, tmp, err)
	}
	if got != want {
		return fmt.Errorf("%w: %s reads back with SHA-256 %s, the source has %s", ErrVerify, tmp, got, want)
	}
	j.res.SHA256, j.res.Verified = want, true
	return nil
}

// HashImage returns the hex SHA-256 of an image's whole virtual content.
// Holes are hashed as zeros without being read.
func HashImage(img vhdx.Image) (string, error) {
	h := sha256.New()
	buf := make([]byte, chunk)
	size := img.Size()
	for off := int64(0); off < size; off += window {
		ext, err := img.Extents(off, min(window, size-off))
		if err != nil {
			return "", err
		}
		for _, e := range ext {
			if e.Kind != vhdx.ExtentData {
				hashZeros(h, e.Len)
				continue
			}
			for pos := e.Off; pos < e.End(); {
				n := min(int64(len(buf)), e.End()-pos)
				if err := readFull(img, buf[:n], pos); err != nil {
					return "", err
				}
				h.Write(buf[:n])
				pos += n
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashZeros(h hash.Hash, n int64) {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		h.Write(zeros[:k])
		n -= k
	}
}

func hashFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, chunk)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
