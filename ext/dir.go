package ext

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unsafe"
)

// Directory reading. Directory blocks are read in order and their entries
// taken one after another; an htree's index blocks hide inside entries
// that name no inode, so they are skipped like deleted entries, as the
// kernel's readdir does. A listing is sorted by name and cached, so a
// lookup in a large directory is a binary search.

const (
	dirEntryHeader = 8
	// maxDirEntries bounds one listing: each entry costs some 40 bytes
	// while the listing is cached.
	maxDirEntries = 1 << 22
)

// dirent is one name of a directory.
type dirent struct {
	name  string
	ino   uint32
	ftype uint8 // the entry's file type when the volume records it, else 0
}

// direntBytes is what a cached listing holds (for the memory budget).
func direntBytes(ents []dirent) int64 {
	b := int64(cap(ents)) * int64(unsafe.Sizeof(dirent{}))
	for _, e := range ents {
		b += int64(len(e.name))
	}
	return b
}

// readDir returns the entries of directory inode in, sorted by name,
// without "." and "..", from the cache when it holds them. The slice is
// shared: callers must not change it.
func (v *FS) readDir(in *inode) ([]dirent, error) {
	if ents, ok := v.dirs.Get(in.ino); ok {
		return ents, nil
	}
	ents, err := v.listDir(in)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ents, func(a, b dirent) int { return strings.Compare(a.name, b.name) })
	// Two entries of one name: the kernel finds the first in its hash
	// order; keep one, so a name stays one file.
	ents = slices.CompactFunc(ents, func(a, b dirent) bool { return a.name == b.name })
	v.dirs.Put(in.ino, ents)
	return ents, nil
}

// listDir reads the entries of directory inode in, in disk order.
func (v *FS) listDir(in *inode) ([]dirent, error) {
	if !in.isDir() {
		return nil, formatErr(in.off, "inode %d is not a directory (mode type %#x)", in.ino, in.typ())
	}
	size := in.size()
	if size < 0 || size > v.size {
		return nil, formatErr(in.off, "inode %d: directory of %d bytes in a partition of %d", in.ino, size, v.size)
	}
	if size > maxDirBytes {
		return nil, unsupported("inode %d: directory of %d bytes is larger than we read (%d)", in.ino, size, maxDirBytes)
	}
	c, err := v.contentOf(in, size)
	if err != nil {
		return nil, err
	}
	if c.isInl {
		data := c.inline
		if len(data) < 4 {
			return nil, formatErr(in.off, "inode %d: inline directory of %d bytes", in.ino, len(data))
		}
		// Four bytes of parent inode, then entries up to the end of
		// i_block, then more in system.data.
		var out []dirent
		for _, part := range [][]byte{data[4:min(len(data), 60)], data[min(len(data), 60):]} {
			if out, err = v.parseEntries(out, part, in.off); err != nil {
				return nil, fmt.Errorf("ext: inode %d: %w", in.ino, err)
			}
		}
		return out, nil
	}
	data := make([]byte, size)
	if _, err := c.readAt(data, 0); err != nil {
		return nil, err
	}
	var out []dirent
	bs := v.geo.blockSize
	for blk := int64(0); blk < size; blk += bs {
		if out, err = v.parseEntries(out, data[blk:min(size, blk+bs)], in.off); err != nil {
			return nil, fmt.Errorf("ext: inode %d, directory block %d: %w", in.ino, blk/bs, err)
		}
	}
	return out, nil
}

// parseEntries appends the named entries of one directory block (or
// inline area) to out.
func (v *FS) parseEntries(out []dirent, b []byte, at int64) ([]dirent, error) {
	inodes := v.geo.groups * v.geo.inodesPerGroup
	for i := 0; i+dirEntryHeader <= len(b); {
		ino := binary.LittleEndian.Uint32(b[i:])
		rec := int(binary.LittleEndian.Uint16(b[i+4:]))
		if rec == 0 || rec == 65535 && v.geo.blockSize == 65536 {
			rec = 65536 // how a 64 KiB block's one entry records its length
		}
		nameLen := int(b[i+6])
		ftype := b[i+7]
		if !v.geo.fileTypes {
			nameLen, ftype = int(binary.LittleEndian.Uint16(b[i+6:])), 0
		}
		if rec < dirEntryHeader || rec%4 != 0 || i+rec > len(b) || dirEntryHeader+nameLen > rec {
			return out, formatErr(at, "entry at byte %d: %d bytes with a name of %d, %d bytes left", i, rec, nameLen, len(b)-i)
		}
		name := b[i+dirEntryHeader : i+dirEntryHeader+nameLen]
		if ino != 0 && !isDots(name) {
			if uint64(ino) > inodes {
				return out, formatErr(at, "entry %q names inode %d past the last", name, ino)
			}
			if len(out) >= maxDirEntries {
				return out, unsupported("more than %d entries in a directory", maxDirEntries)
			}
			if ftype > 7 {
				ftype = 0
			}
			out = append(out, dirent{name: string(name), ino: ino, ftype: ftype})
		}
		i += rec
	}
	return out, nil
}

func isDots(name []byte) bool {
	return len(name) == 1 && name[0] == '.' || len(name) == 2 && name[0] == '.' && name[1] == '.'
}

// htreeMinBlocks is the directory size from which a lookup goes through
// the htree index when the listing is not cached: below it, reading the
// listing (and caching it for the next lookups) costs about as much.
const htreeMinBlocks = 16

// lookupEnt finds a name in a directory: by binary search of its listing
// when cached, else through its htree index when it has one and is large,
// else by reading the listing.
func (v *FS) lookupEnt(dir *inode, name string) (dirent, bool, error) {
	if _, cached := v.dirs.Get(dir.ino); !cached && dir.isDir() && dir.flags()&flagIndex != 0 &&
		dir.flags()&(flagInline|flagCasefold|flagEncrypt) == 0 && dir.size() >= htreeMinBlocks*v.geo.blockSize && dir.size() <= maxDirBytes {
		if c, err := v.contentOf(dir, dir.size()); err == nil {
			if e, found, usable := v.htreeLookup(dir, c, name); usable {
				return e, found, nil
			}
		}
	}
	ents, err := v.readDir(dir)
	if err != nil {
		return dirent{}, false, err
	}
	i, found := slices.BinarySearchFunc(ents, name, func(e dirent, n string) int { return strings.Compare(e.name, n) })
	if !found {
		return dirent{}, false, nil
	}
	return ents[i], true, nil
}

// maxCachedEntries bounds the listings kept per generation: with some 40
// bytes an entry plus the names, about 30 MiB for the two.
const maxCachedEntries = 1 << 18
