//go:build linux

package xfs

import (
	"bytes"
	"encoding/binary"
	"io"
	"io/fs"
	"os"
	"testing"
)

// fuzzVolSize is the size of the volume a fuzz input describes.
const fuzzVolSize = 16 << 20

// sparseVolume is a fuzz input read as a volume: records of a big-endian
// 32-bit sector number and 512 bytes, over zeros, so a 16 MiB filesystem
// fits a seed of its few metadata sectors.
type sparseVolume map[int64][]byte

func decodeSparse(b []byte) sparseVolume {
	v := sparseVolume{}
	for len(b) >= 4+512 {
		sec := int64(binary.BigEndian.Uint32(b)) % (fuzzVolSize / 512)
		v[sec] = b[4 : 4+512]
		b = b[4+512:]
	}
	return v
}

func (v sparseVolume) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= fuzzVolSize {
			return n, io.EOF
		}
		sec, in := pos/512, int(pos%512)
		k := min(512-in, len(p)-n)
		if s, ok := v[sec]; ok {
			copy(p[n:n+k], s[in:])
		} else {
			clear(p[n : n+k])
		}
		n += k
	}
	return n, nil
}

// encodeSparse keeps the non-zero sectors of an image outside
// [skipFrom, skipTo).
func encodeSparse(img []byte, skipFrom, skipTo int64) []byte {
	var out []byte
	for off := int64(0); off+512 <= int64(len(img)); off += 512 {
		if off >= skipFrom && off < skipTo {
			continue
		}
		s := img[off : off+512]
		for _, c := range s {
			if c != 0 {
				out = binary.BigEndian.AppendUint32(out, uint32(off/512))
				out = append(out, s...)
				break
			}
		}
	}
	return out
}

// FuzzVolume opens fuzzed volumes and reads every structure it reaches:
// no input may panic, hang or allocate without bound.
func FuzzVolume(f *testing.F) {
	if os.Geteuid() == 0 {
		// The tiny volume's log is mostly zeros: its few records come along.
		if img, err := os.ReadFile(fixtureIfBuilt("tiny")); err == nil {
			f.Add(encodeSparse(img, 0, 0))
		}
	}
	f.Add(encodeSparse(make([]byte, 512), 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := NewFS(decodeSparse(data), fuzzVolSize)
		if err != nil {
			return
		}
		exerciseVolume(v, 300)
	})
}

// exerciseVolume walks up to max entries, reading each the ways the
// mount does.
func exerciseVolume(v *FS, max int) {
	n := 0
	buf := make([]byte, 64<<10)
	_ = fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if n++; n > max {
			return fs.SkipAll
		}
		if err != nil {
			return nil
		}
		fi, err := v.Lstat(p)
		if err != nil {
			return nil
		}
		_, _ = fi.Sys().(*fileInfo).Xattrs()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			_, _ = v.ReadLink(p)
		case fi.Mode().IsRegular():
			f, err := v.Open(p)
			if err != nil {
				return nil
			}
			_, _, _ = f.(*File).Extents()
			_, _ = f.(*File).ReadAt(buf, 0)
			_, _ = f.(*File).ReadAt(buf, max64(0, fi.Size()-int64(len(buf))))
		}
		return nil
	})
}

func max64(a, b int64) int64 { return max(a, b) }

// FuzzLogRecord feeds fuzzed log record data (operation headers and
// payloads) to the replayer over the tiny volume: transaction assembly,
// item splitting and buffer and inode items applied to the overlay must
// fail cleanly on any input. Seeds are the records of the dirty image.
func FuzzLogRecord(f *testing.F) {
	var base []byte
	if os.Geteuid() == 0 {
		base, _ = os.ReadFile(fixtureIfBuilt("tiny"))
		if img, err := os.ReadFile(fixtureIfBuilt("dirty")); err == nil {
			for _, d := range logRecords(img) {
				f.Add(d, 20)
			}
		}
	}
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0, clientTrans, opStartTrans, 0, 0}, 1)
	f.Fuzz(func(t *testing.T, data []byte, numOps int) {
		if base == nil {
			t.Skip("the tiny image is not built (root builds it)")
		}
		v, err := NewFSOptions(bytes.NewReader(base), int64(len(base)), Options{NoRecovery: true})
		if err != nil {
			t.Fatal(err)
		}
		rp := newReplayer(v)
		if rp.record(data, numOps%4096) != nil {
			return
		}
		if _, err := rp.apply(); err == nil {
			v.overlay = rp.ov
			exerciseVolume(v, 50)
		}
	})
}

// logRecords returns the data of every record from the tail to the head
// of an image's log.
func logRecords(img []byte) [][]byte {
	v, err := NewFSOptions(bytes.NewReader(img), int64(len(img)), Options{NoRecovery: true})
	if err != nil {
		return nil
	}
	off, _ := v.sb.fsbToByte(v.sb.logStart)
	l := &xlog{v: v, off: off, bbs: int64(v.sb.logBlocks) << v.sb.blockLog / bbSize}
	head, err := l.findHead()
	if err != nil {
		return nil
	}
	var out [][]byte
	for blk, i := int64(uint32(head.tail)), 0; i < 1000; i++ {
		hb, err := l.readBB(blk, 1)
		if err != nil {
			break
		}
		r := l.header(hb, blk)
		if r == nil {
			break
		}
		d, err := l.recordData(r)
		if err != nil {
			break
		}
		out = append(out, d)
		if r.blk == head.blk {
			break
		}
		blk = (blk + r.hdrBBs + int64((r.dataLen+bbSize-1)/bbSize)) % l.bbs
	}
	return out
}

// FuzzInodes reads a volume by inode number, as diff's inode comparison
// does: the inodes in ranges of the volume, each one's description, a
// directory's listing and its parent, the inodes of each AG's inode btree.
func FuzzInodes(f *testing.F) {
	if os.Geteuid() == 0 {
		if img, err := os.ReadFile(fixtureIfBuilt("tiny")); err == nil {
			f.Add(encodeSparse(img, 0, 0))
		}
	}
	f.Add(encodeSparse(make([]byte, 512), 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := NewFS(decodeSparse(data), fuzzVolSize)
		if err != nil {
			return
		}
		n := 0
		for g := range min(v.InodeGroups(), 4) {
			inodes, _ := v.GroupInodes(g, g%2 == 1)
			for _, ino := range inodes {
				if n++; n > 300 {
					break
				}
				_, _ = v.InodeBytes(ino)
				fi, ok, err := v.InodeInfo(ino)
				if err != nil || !ok {
					continue
				}
				if fi.IsDir() {
					_, _, _ = v.InodeDir(ino)
				} else if f, err := v.OpenInode(ino); err == nil {
					_, _, _ = f.Extents()
				}
			}
		}
		_ = v.InodesIn(0, 1<<20)
		_, _, _ = v.InodeDir(v.RootInode())
	})
}
