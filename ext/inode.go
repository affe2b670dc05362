package ext

import (
	"encoding/binary"
	"io/fs"
	"slices"
	"sync"
	"time"
)

// Inode fields (offsets in the inode) and flags.
const (
	inodeMode       = 0x00
	inodeUIDLo      = 0x02
	inodeSizeLo     = 0x04
	inodeATime      = 0x08
	inodeCTime      = 0x0c
	inodeMTime      = 0x10
	inodeGIDLo      = 0x18
	inodeLinks      = 0x1a
	inodeFlags      = 0x20
	inodeBlock      = 0x28 // i_block, 60 bytes: extent tree root, block map or inline data
	inodeGeneration = 0x64
	inodeFileACL    = 0x68
	inodeSizeHi     = 0x6c
	inodeFileACLHi  = 0x76
	inodeUIDHi      = 0x78
	inodeGIDHi      = 0x7a
	inodeExtraSize  = 0x80 // i_extra_isize: in-inode attributes follow the extra fields
	inodeCTimeX     = 0x84
	inodeMTimeX     = 0x88
	inodeATimeX     = 0x8c
	inodeCrTime     = 0x90
	inodeCrTimeX    = 0x94

	flagIndex   = 0x1000     // hashed directory (htree)
	flagExtents = 0x80000    // extents
	flagInline  = 0x10000000 // data in i_block and the system.data attribute
	flagEncrypt = 0x800
	// A case-insensitive folder: its htree hashes the folded names (and an
	// encrypted one's, the ciphertext), which a lookup by the name as
	// stored cannot use.
	flagCasefold = 0x40000000

	modeType    = 0xf000
	modeDir     = 0x4000
	modeReg     = 0x8000
	modeSymlink = 0xa000
	modeChr     = 0x2000
	modeBlk     = 0x6000

	rootIno = 2
)

// inode is one inode slot as stored, shared with the cache: never
// changed once made.
type inode struct {
	ino uint32
	off int64  // where the slot lies in the volume, for errors
	b   []byte // the slot (inodeSize bytes)
}

func (in *inode) u16(o int) uint16 { return binary.LittleEndian.Uint16(in.b[o:]) }
func (in *inode) u32(o int) uint32 { return binary.LittleEndian.Uint32(in.b[o:]) }

func (in *inode) mode() uint16   { return in.u16(inodeMode) }
func (in *inode) typ() uint16    { return in.mode() & modeType }
func (in *inode) isDir() bool    { return in.typ() == modeDir }
func (in *inode) isLink() bool   { return in.typ() == modeSymlink }
func (in *inode) flags() uint32  { return in.u32(inodeFlags) }
func (in *inode) iblock() []byte { return in.b[inodeBlock : inodeBlock+60] }

// size is i_size (both halves): a file's length, a directory's or a link
// target's bytes. A hostile inode may make it negative; callers check.
func (in *inode) size() int64 {
	return int64(in.u32(inodeSizeLo)) | int64(in.u32(inodeSizeHi))<<32
}

// extraEnd is where the extra fields end (128 for a small inode).
func (in *inode) extraEnd() int {
	if len(in.b) <= inodeExtraSize+2 {
		return len(in.b)
	}
	return min(len(in.b), inodeExtraSize+int(in.u16(inodeExtraSize)))
}

// stamp decodes a time: seconds, and in the extra field (when the inode
// has it) two more bits of seconds and the nanoseconds.
func (in *inode) stamp(sec, x int) time.Time {
	secs := int64(int32(in.u32(sec)))
	var nsec int64
	if x+4 <= in.extraEnd() {
		v := in.u32(x)
		secs += int64(v&3) << 32
		nsec = int64(v >> 2)
	}
	return time.Unix(secs, min(nsec, 999999999)).UTC()
}

// fileMode converts i_mode; ok is false for a type ext does not define.
func fileMode(m uint16) (mode fs.FileMode, ok bool) {
	switch m & modeType {
	case modeReg:
	case modeDir:
		mode = fs.ModeDir
	case modeSymlink:
		mode = fs.ModeSymlink
	case modeChr:
		mode = fs.ModeDevice | fs.ModeCharDevice
	case modeBlk:
		mode = fs.ModeDevice
	case 0x1000:
		mode = fs.ModeNamedPipe
	case 0xc000:
		mode = fs.ModeSocket
	default:
		return 0, false
	}
	mode |= fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode, true
}

// inodeChunk is how much of an inode table one read brings in: inodes
// made together lie together, so a walk of a tree finds most of the
// inodes it needs next already read.
const inodeChunk = 32 << 10

// inodePiece is what the cache keeps a chunk as: pieces of their own
// memory. An inode is a slice of its piece, and a FileInfo a caller keeps
// (a FUSE node keeps one per file) keeps that piece alive: 4 KiB, 16
// inodes, rather than the 32 KiB read. The copy costs one per 128 inodes.
const inodePiece = 4 << 10

// chunkScratch holds the buffers chunks are read into before they are cut
// into pieces.
var chunkScratch = sync.Pool{New: func() any { return new([]byte) }}

// maxChunks bounds the cache per generation in KiB: 2 x 8 MiB = 16 MiB.
const maxChunks = 8 << 10

// inode reads inode ino: from the cached chunk of its inode table, else
// by reading that chunk.
func (v *FS) inode(ino uint32) (*inode, error) {
	if ino == 0 || uint64(ino) > v.geo.groups*v.geo.inodesPerGroup {
		return nil, formatErr(0, "inode %d outside the %d the superblock counts", ino, v.geo.groups*v.geo.inodesPerGroup)
	}
	group := uint64(ino-1) / v.geo.inodesPerGroup
	index := int64(uint64(ino-1) % v.geo.inodesPerGroup)
	isz := v.geo.inodeSize
	table := v.tables[group]
	tableSize := int64(v.geo.inodesPerGroup) * isz
	rel := index * isz
	off := table + rel
	piece := max(inodePiece, isz) // a power of two: pieces hold whole inodes
	pieceRel := rel / piece * piece
	p, ok := v.chunks.Get(table + pieceRel)
	if !ok {
		span := max(inodeChunk, piece)
		chunkRel := rel / span * span
		scratch := chunkScratch.Get().(*[]byte)
		defer chunkScratch.Put(scratch)
		if int64(cap(*scratch)) < span {
			*scratch = make([]byte, span)
		}
		buf := (*scratch)[:min(span, tableSize-chunkRel)]
		if err := readFull(v.r, v.size, buf, table+chunkRel); err != nil {
			return nil, formatErr(off, "reading inode %d: %v", ino, err)
		}
		for o := int64(0); o < int64(len(buf)); o += piece {
			b := slices.Clone(buf[o:min(o+piece, int64(len(buf)))]) // see inodePiece
			v.chunks.Put(table+chunkRel+o, b)
			if chunkRel+o == pieceRel {
				p = b
			}
		}
	}
	s := rel - pieceRel
	return &inode{ino: ino, off: off, b: p[s : s+isz : s+isz]}, nil
}
