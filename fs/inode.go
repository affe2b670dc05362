//go:build linux

package fs

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Inode numbers of guest files are unique across the whole mount by
// construction, not by luck of a hash: go-fuse takes a known number for
// the same node (that is how hard links work), so two files that shared
// one would both show the first one's tree and bytes. A number is
//
//	bit 63      clear: go-fuse numbers the static nodes up there
//	bits 62-43  the volume: one per volume directory of the mount, handed
//	            out in order by the Root (VM, checkpoint, disk, volume)
//	bit 42      0: the file's own identity (NTFS record, ext inode)
//	            1: a number handed out by the volume for a path or an
//	            identity too large to fit
//	bits 41-0   that identity or handed-out number
const (
	volBits  = 20
	fileBits = 42
	maxVols  = 1<<volBits - 1
	fileMask = 1<<fileBits - 1
	mappedID = 1 << fileBits
)

// volumeNumbers hands out volume numbers for one mount.
type volumeNumbers struct{ next atomic.Uint64 }

// take returns a fresh inode space, or an error once the mount holds more
// volumes than the numbering has room for.
func (n *volumeNumbers) take() (*inoSpace, error) {
	v := n.next.Add(1)
	if v > maxVols {
		return nil, fmt.Errorf("more than %d volumes in one mount: this one is left out", maxVols)
	}
	return &inoSpace{vol: v}, nil
}

// inoSpace numbers the files of one volume.
type inoSpace struct {
	vol uint64

	mu sync.Mutex
	// keys holds what was handed out: paths ("p"+path) of files without
	// an identity (symlinks, FAT and ISO files) and identities of 2^42 or
	// more ("i"+decimal). It grows with what is looked up, which on the
	// common filesystems (NTFS, ext) is only their symlinks.
	keys map[string]uint64
	next uint64
}

// byID tells whether number derives the number from id alone (and does
// not need the path).
func (s *inoSpace) byID(id uint64, useID bool) bool { return useID && id <= fileMask }

// number is the inode number of the file with identity id (useID) or at
// path p.
func (s *inoSpace) number(p string, id uint64, useID bool) uint64 {
	if s.byID(id, useID) {
		return s.vol<<(fileBits+1) | id
	}
	key := "p" + p
	if useID {
		key = fmt.Sprintf("i%d", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.keys[key]
	if !ok {
		if s.keys == nil {
			s.keys = map[string]uint64{}
		}
		n = s.next
		s.next++
		s.keys[key] = n
	}
	return s.vol<<(fileBits+1) | mappedID | n&fileMask
}
