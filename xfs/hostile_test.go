//go:build linux

package xfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"testing"
)

// tinyImage loads the 16 MiB fixture into memory, with helpers to find
// its structures through the reader itself.
type tinyImage struct {
	t   *testing.T
	b   []byte
	v   *FS
	ino map[string]uint64
}

func loadTiny(t *testing.T) *tinyImage {
	t.Helper()
	b, err := os.ReadFile(fixture(t, "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewFS(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	im := &tinyImage{t: t, b: b, v: v, ino: map[string]uint64{}}
	for _, p := range []string{".", "sf", "block", "data", "btree", "link", "longlink", "attrs"} {
		fi, err := v.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		im.ino[p] = fi.Sys().(*fileInfo).FileID()
	}
	return im
}

func (im *tinyImage) clone() []byte { return bytes.Clone(im.b) }

// inodeAt is the byte offset of the named inode.
func (im *tinyImage) inodeAt(p string) int64 {
	off, err := im.v.sb.inodeOffset(im.ino[p])
	if err != nil {
		im.t.Fatal(err)
	}
	return off
}

// forkBlock is the byte offset of the first block of a file's data fork.
func (im *tinyImage) forkBlock(p string, attr bool) int64 {
	in, err := im.v.inode(newBudget(), im.ino[p])
	if err != nil {
		im.t.Fatal(err)
	}
	exts, err := im.v.forkExtents(newBudget(), in, attr)
	if err != nil || len(exts) == 0 {
		im.t.Fatalf("%s: %v", p, err)
	}
	off, _ := im.v.sb.fsbToByte(exts[0].blk)
	return off
}

// fixInode recomputes the CRC of the inode at off, so that a damaged
// field is found by its own check, not by the checksum.
func (im *tinyImage) fixInode(b []byte, off int64) {
	n := int64(im.v.sb.inodeSize)
	binary.LittleEndian.PutUint32(b[off+100:], computeCRC(b[off:off+n], 100))
}

func fixBlock(b []byte, off int64, n int, crcOff int) {
	binary.LittleEndian.PutUint32(b[off+int64(crcOff):], computeCRC(b[off:off+int64(n)], crcOff))
}

func (im *tinyImage) fixSuper(b []byte) { fixBlock(b, 0, int(im.v.sb.sectSize), 224) }

// TestDamaged damages one field per row and checks that opening the
// volume, or reading the damaged structure, fails with the expected
// error, never a panic or a wrong answer.
func TestDamaged(t *testing.T) {
	im := loadTiny(t)
	be := binary.BigEndian
	bs := int(im.v.sb.blockSize)
	dbs := im.v.sb.dirBlockSize()
	type row struct {
		name string
		mess func(b []byte)
		op   string // what to read after opening: "" (open only) or a path op
		path string
		want error
	}
	rows := []row{
		{"superblock magic", func(b []byte) { copy(b, "XFSC") }, "", "", ErrFormat},
		{"superblock checksum", func(b []byte) { b[110] ^= 1 }, "", "", ErrChecksum},
		{"block size not a power of two", func(b []byte) { be.PutUint32(b[4:], 3000); im.fixSuper(b) }, "", "", ErrFormat},
		{"block log disagrees", func(b []byte) { b[120] = 13; im.fixSuper(b) }, "", "", ErrFormat},
		{"no allocation groups", func(b []byte) { be.PutUint32(b[88:], 0); im.fixSuper(b) }, "", "", ErrFormat},
		{"more blocks than the groups hold", func(b []byte) { be.PutUint64(b[8:], 1<<40); im.fixSuper(b) }, "", "", ErrFormat},
		{"filesystem larger than the volume", func(b []byte) {
			be.PutUint32(b[88:], 4)
			be.PutUint64(b[8:], 4*uint64(be.Uint32(b[84:])))
			im.fixSuper(b)
		}, "", "", ErrRange},
		{"unknown incompatible feature", func(b []byte) { b[216] |= 0x80; im.fixSuper(b) }, "", "", ErrUnsupported},
		{"superblock version 6", func(b []byte) { b[101] = b[101]&0xf0 | 6; im.fixSuper(b) }, "", "", ErrUnsupported},
		{"root inode out of range", func(b []byte) { be.PutUint64(b[56:], 1<<50); im.fixSuper(b) }, "", "", ErrFormat},
		{"internal log outside its group", func(b []byte) { be.PutUint32(b[96:], 1<<30); im.fixSuper(b) }, "", "", ErrFormat},
		{"root inode magic", func(b []byte) { off := im.inodeAt("."); b[off] = 'X'; im.fixInode(b, off) }, "", "", ErrFormat},
		{"root inode checksum", func(b []byte) { b[im.inodeAt(".")+8] ^= 1 }, "", "", ErrChecksum},
		{"inode records another number", func(b []byte) {
			off := im.inodeAt("data")
			be.PutUint64(b[off+152:], 99)
			im.fixInode(b, off)
		}, "stat", "data", ErrFormat},
		{"inode version 9", func(b []byte) { off := im.inodeAt("data"); b[off+4] = 9; im.fixInode(b, off) }, "stat", "data", ErrFormat},
		{"regular file in local format", func(b []byte) { off := im.inodeAt("data"); b[off+5] = fmtLocal; im.fixInode(b, off) }, "stat", "data", ErrFormat},
		{"attribute fork offset past the inode", func(b []byte) { off := im.inodeAt("data"); b[off+82] = 200; im.fixInode(b, off) }, "stat", "data", ErrFormat},
		{"more extents than the fork holds", func(b []byte) {
			off := im.inodeAt("data")
			be.PutUint32(b[off+76:], 1000)
			im.fixInode(b, off)
		}, "open", "data", ErrFormat},
		{"extent beyond the filesystem", func(b []byte) {
			off := im.inodeAt("data") + dinodeV3CoreLen
			b[off+8] = 0x7f // high bits of the start block
			im.fixInode(b, off-dinodeV3CoreLen)
		}, "open", "data", ErrFormat},
		{"extent of zero blocks", func(b []byte) {
			off := im.inodeAt("data") + dinodeV3CoreLen
			l1 := be.Uint64(b[off+8:])
			be.PutUint64(b[off+8:], l1&^(1<<21-1))
			im.fixInode(b, off-dinodeV3CoreLen)
		}, "open", "data", ErrFormat},
		{"B+tree root of level 60", func(b []byte) {
			off := im.inodeAt("btree")
			be.PutUint16(b[off+dinodeV3CoreLen:], 60)
			im.fixInode(b, off)
		}, "open", "btree", ErrFormat},
		{"B+tree block checksum", func(b []byte) {
			off := im.inodeAt("btree")
			in, _ := im.v.parseInode(im.ino["btree"], off, b[off:off+int64(im.v.sb.inodeSize)])
			maxrecs := (len(in.dfork) - 4) / 16
			ptr := be.Uint64(in.dfork[4+maxrecs*8:])
			blk, _ := im.v.sb.fsbToByte(ptr)
			b[blk+100] ^= 1
		}, "open", "btree", ErrChecksum},
		{"B+tree leaf claiming level 1", func(b []byte) {
			off := im.inodeAt("btree")
			in, _ := im.v.parseInode(im.ino["btree"], off, b[off:off+int64(im.v.sb.inodeSize)])
			maxrecs := (len(in.dfork) - 4) / 16
			ptr := be.Uint64(in.dfork[4+maxrecs*8:])
			blk, _ := im.v.sb.fsbToByte(ptr)
			be.PutUint16(b[blk+4:], 1) // a node of level 1 under a root of level 1
			fixBlock(b, blk, bs, 64)
		}, "open", "btree", ErrFormat},
		{"realtime file", func(b []byte) {
			off := im.inodeAt("data")
			b[off+91] |= diflagRealtime
			im.fixInode(b, off)
		}, "open", "data", ErrUnsupported},
		{"short form directory count", func(b []byte) {
			off := im.inodeAt("sf")
			b[off+dinodeV3CoreLen] = 200
			im.fixInode(b, off)
		}, "readdir", "sf", ErrFormat},
		{"short form entry name length", func(b []byte) {
			off := im.inodeAt("sf")
			b[off+dinodeV3CoreLen+6] = 250
			im.fixInode(b, off)
		}, "readdir", "sf", ErrFormat},
		{"directory block magic", func(b []byte) { off := im.forkBlock("block", false); b[off+3] = 'Q'; fixBlock(b, off, dbs, 4) }, "readdir", "block", ErrFormat},
		{"directory block checksum", func(b []byte) { off := im.forkBlock("block", false); b[off+200] ^= 1 }, "readdir", "block", ErrChecksum},
		{"directory entry past the block", func(b []byte) {
			off := im.forkBlock("block", false)
			// The third entry (after "." and ".."): a name length that
			// runs past the block's data.
			b[off+64+16+16+8] = 255
			fixBlock(b, off, dbs, 4)
		}, "readdir", "block", ErrFormat},
		{"directory block tail count", func(b []byte) {
			off := im.forkBlock("block", false)
			be.PutUint32(b[off+int64(dbs)-8:], 1<<20)
			fixBlock(b, off, dbs, 4)
		}, "readdir", "block", ErrFormat},
		{"directory entry named with a slash", func(b []byte) {
			off := im.forkBlock("block", false)
			b[off+64+16+16+9] = '/'
			fixBlock(b, off, dbs, 4)
		}, "readdir", "block", ErrFormat},
		{"symbolic link of 5000 bytes", func(b []byte) {
			off := im.inodeAt("longlink")
			be.PutUint64(b[off+56:], 5000)
			im.fixInode(b, off)
		}, "readlink", "longlink", ErrFormat},
		{"remote symbolic link checksum", func(b []byte) { b[im.forkBlock("longlink", false)+70] ^= 1 }, "readlink", "longlink", ErrChecksum},
		{"remote symbolic link owner", func(b []byte) {
			off := im.forkBlock("longlink", false)
			be.PutUint64(b[off+32:], 5)
			fixBlock(b, off, bs, 12)
		}, "readlink", "longlink", ErrFormat},
		{"short form attributes size", func(b []byte) {
			off := im.inodeAt("data")
			fork := off + dinodeV3CoreLen + int64(b[off+82])*8
			be.PutUint16(b[fork:], 4000)
			im.fixInode(b, off)
		}, "xattr", "data", ErrFormat},
		{"attribute leaf count", func(b []byte) {
			off := im.forkBlock("attrs", true)
			be.PutUint16(b[off+56:], 5000)
			fixBlock(b, off, bs, 12)
		}, "xattr", "attrs", ErrFormat},
		{"attribute leaf checksum", func(b []byte) { b[im.forkBlock("attrs", true)+300] ^= 1 }, "xattr", "attrs", ErrChecksum},
		{"attribute leaf linked to itself", func(b []byte) {
			off := im.forkBlock("attrs", true)
			// A forward link of 0 ends the chain, so the loop is made
			// with a node at block 0 whose first child is block 0.
			be.PutUint16(b[off+8:], daNodeMagicV5)
			be.PutUint16(b[off+56:], 1) // count
			be.PutUint16(b[off+58:], 1) // level
			be.PutUint32(b[off+64+4:], 0)
			fixBlock(b, off, bs, 12)
		}, "xattr", "attrs", ErrLoop},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			b := im.clone()
			r.mess(b)
			v, err := NewFS(bytes.NewReader(b), int64(len(b)))
			if err == nil && r.op != "" {
				err = readOp(v, r.op, r.path)
			}
			if err == nil {
				t.Fatalf("no error, want %v", r.want)
			}
			if !errors.Is(err, r.want) {
				t.Fatalf("error %v, want %v", err, r.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error %v carries no FormatError", err)
			}
			t.Log(err)
		})
	}
}

// readOp reads what a row damaged, whole.
func readOp(v *FS, op, p string) error {
	switch op {
	case "stat":
		_, err := v.Lstat(p)
		return err
	case "open":
		f, err := v.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, f.(io.Reader))
		return err
	case "readdir":
		_, err := v.ReadDir(p)
		return err
	case "readlink":
		_, err := v.ReadLink(p)
		return err
	case "xattr":
		_, err := v.Xattrs(p)
		return err
	}
	return fs.ErrInvalid
}
